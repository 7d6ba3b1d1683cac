"""Through the SDK's own runner: what the changes alone never see comes right with the periodic full
re-read, one table per sync.

A team and a parent organization are renamed without touching the records that point at them (as
Xurrent does), and a project read at the first sync is archived. The next, incremental sync costs
what an incremental sync costs, keeps the old copied names (their records did not change) and marks
the project deleted. Then the warehouse ages by 40 days, on the simulator's clock and the
connector's planning clock alike (no waiting), and the project is restored without a new
updated_at: it is now older than the `initial_sync_days=30` window. All three tables fall due
together; each of the next three syncs re-reads exactly one of them in full (on the simulator's
request log), from the history bound the first sync recorded, and in the end every copied name is
the new one and the project is live again: the warehouse equals the source."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.reliability.helpers import configuration, sim_config, updated_second
from tests.reliability.sdk_checks import assert_no_secrets, equal_to_source
from tests.sdk_harness import make_project, retune, run_debug, saved_state, warehouse
from xurrent_async.simulator import COLLECTIONS, SimulatorThread, SystemClock
from xurrent_async.state import from_iso, to_iso

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
DAY = 86_400
RECORDS = {"organizations": 250, "products": 250, "projects": 250}
TUNING = {"checkpoint_seconds": 0.5, "backoff_base_seconds": 0.01, "backoff_max_seconds": 0.05}
AGED = 40 * DAY
FEEDS = {"archive": 1, "trash": 1}  # an incremental sync reads each removal feed once


def referencing(truth: dict[int, dict], field: str, target_id: int) -> set[int]:
    return {rid for rid, r in truth.items() if (r.get(field) or {}).get("id") == target_id}


def most_referenced(truth: dict[int, dict], field: str) -> int:
    counts = Counter(r[field]["id"] for r in truth.values() if r.get(field))
    return counts.most_common(1)[0][0]


def test_renamed_references_and_a_quiet_restore_come_right_with_the_full_re_read_one_table_per_sync(tmp_path):
    config = sim_config(records=RECORDS, seed=22, history_days=20, restore_touches_updated_at=False)
    with SimulatorThread(config, clock=SystemClock()) as sim:
        assert isinstance(sim.clock, SystemClock)
        project = make_project(tmp_path, copy_package=True, tuning=TUNING)
        settings = configuration(sim, initial_sync_days="30")
        team = most_referenced(sim.truth("products"), "support_team")
        parent = most_referenced(sim.truth("organizations"), "parent")
        products, children = referencing(sim.truth("products"), "support_team", team), \
            referencing(sim.truth("organizations"), "parent", parent)
        restored = sorted(sim.truth("projects"))[7]

        def sync(label: str) -> dict[str, int]:
            """One `fivetran debug`; the requests it sent, by collection (the simulator's log)."""
            sim.reset_stats()
            run = run_debug(project, settings, timeout=240)
            assert run.returncode == 0, f"{label}:\n{run.output[-3000:]}"
            assert_no_secrets(project, run, sim)
            outputs[label] = run.output
            return dict(sim.stats.requests_by_collection)

        outputs: dict[str, str] = {}
        sync("first")
        assert equal_to_source(sim, project)[0] == []
        history = {t: saved_state(project)["streams"][t]["history_from"] for t in COLLECTIONS}
        assert len(set(history.values())) == 1  # one bound for the three tables: now − 31 days
        bound = from_iso(history["projects"])

        # Renames that move no referencing record, and an archive: an incremental sync, not due.
        sim.rename("teams", team, "Team Renamed")
        sim.rename("organizations", parent, "Parent Renamed")
        sim.archive([restored])
        assert sync("incremental") == {"organizations": 1, "products": 1, "projects": 1, **FEEDS}
        rows = {t: warehouse(project, t) for t in COLLECTIONS}
        assert rows["organizations"][parent]["name"] == "Parent Renamed"  # it changed itself
        assert "Team Renamed" not in {rows["products"][p]["support_team_name"] for p in products}
        assert "Parent Renamed" not in {rows["organizations"][c]["parent_name"] for c in children}
        assert rows["projects"][restored]["_fivetran_deleted"]

        # Forty days later (both clocks), restored with its old updated_at: older than the window now.
        sim.clock.skew_seconds = AGED
        retune(project, {**TUNING, "clock_offset_seconds": AGED})
        sim.restore([restored])
        assert updated_second(sim.truth("projects")[restored]) < sim.clock.now() - 31 * DAY
        read_in_full = []
        for label in ("aged 1", "aged 2", "aged 3"):
            requests = sync(label)
            full = [t for t in COLLECTIONS if requests[t] > 1]
            assert len(full) == 1, f"{label}: {requests}"  # one table re-read in full, never two
            assert requests == {**dict.fromkeys(COLLECTIONS, 1), full[0]: requests[full[0]], **FEEDS}
            read_in_full += full
            assert (f"{full[0]}: a full re-read (every 7 day(s), last on ") in outputs[label]
            assert (f"from {to_iso(bound)}, where the table's history begins (never narrowed; "
                    "initial_sync_days=30 alone would start at") in outputs[label]
        assert sorted(read_in_full) == sorted(COLLECTIONS)

        rows = {t: warehouse(project, t) for t in COLLECTIONS}
        assert {rows["products"][p]["support_team_name"] for p in products} == {"Team Renamed"}
        assert {rows["organizations"][c]["parent_name"] for c in children} == {"Parent Renamed"}
        assert not rows["projects"][restored]["_fivetran_deleted"]
        assert equal_to_source(sim, project)[0] == []
