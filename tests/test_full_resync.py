"""A periodic full re-read through run_sync: the time-left plan counts its whole size (not the size of
the changes), and the pass records the table's history bound in the state."""

from __future__ import annotations

import logging

from tests.conftest import FAST, settings_for, unlimited
from tests.fakes import RecordingSink
from tests.sdk_harness import differences
from xurrent_async.pass_plan import DAY
from xurrent_async.simulator import SimulatorThread
from xurrent_async.state import from_iso, to_iso
from xurrent_async.sync import run_sync

RECORDS = {"organizations": 120, "products": 300, "projects": 150}


def test_the_time_left_plan_counts_every_record_of_the_table_re_read_in_full(caplog):
    with SimulatorThread(unlimited(records=RECORDS)) as sim:
        sink = RecordingSink()
        state = run_sync(settings_for(sim), None, sink, tuning=FAST).state
        state["streams"]["products"]["full_read"] = to_iso(int(sim.clock.now()) - 8 * DAY)
        caplog.set_level(logging.INFO)
        report = run_sync(settings_for(sim), state, sink, tuning=FAST)
    assert report.streams["products"].rows == 300 and report.rows == 300  # the others: no change
    assert "products: about 300 records → about 3 requests" in caplog.text
    # 300 records for products, none for the others (one request each): the whole sync.
    assert "plan: about 300 records → about 5 requests;" in caplog.text


def test_a_first_sync_records_where_each_tables_history_begins(caplog):
    with SimulatorThread(unlimited(records=RECORDS, history_days=20)) as sim:
        caplog.set_level(logging.INFO)
        state = run_sync(settings_for(sim, initial_sync_days="30"), None, RecordingSink(), tuning=FAST).state
        now = sim.clock.now()
    bounds = {table: from_iso(stream["history_from"]) for table, stream in state["streams"].items()}
    assert len(set(bounds.values())) == 1  # planned once, for every table
    bound = bounds["products"]
    assert now - 31 * DAY - 600 <= bound <= now - 31 * DAY  # the window, a day to spare, planned just before
    assert f"products: first sync; from {to_iso(bound)}, the last 30 day(s)" in caplog.text


def test_when_a_rename_moves_the_referencing_records_the_next_incremental_sync_has_the_new_names():
    """The docs do not say whether it does; if so, the changes alone bring the new names."""
    with SimulatorThread(unlimited(records=RECORDS, rename_touches_references=True)) as sim:
        sink = RecordingSink()
        state = run_sync(settings_for(sim), None, sink, tuning=FAST).state
        team = next(r["support_team"]["id"] for r in sim.truth("products").values() if r["support_team"])
        parent = next(r["parent"]["id"] for r in sim.truth("organizations").values() if r["parent"])
        sim.rename("teams", team, "Team Renamed")
        sim.rename("organizations", parent, "Parent Renamed")
        report = run_sync(settings_for(sim), state, sink, tuning=FAST)
        assert report.rows < 300  # the changes, not a full re-read of products
        for table in ("organizations", "products", "projects"):
            assert differences(sim.truth(table), sink.live(table), table) == []
    assert "Team Renamed" in {row["support_team_name"] for row in sink.rows["products"].values()}
