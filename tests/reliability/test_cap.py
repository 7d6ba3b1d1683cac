"""The per-query record cap with crowded seconds: several seconds each holding more records than
one query may return, placed where windows begin and end (the pass's first second, a split
boundary, the pass's last second, and the pass's upper bound itself). Every record arrives, with
the server's clock fixed (FakeClock) so that the boundaries are known exactly."""

from __future__ import annotations

import dataclasses
import logging
import random

import pytest

from tests.fakes import RecordingSink
from tests.reliability.helpers import (
    FAST,
    assert_no_worker_left,
    call_within,
    settings_for,
    sim_config,
    sink_differences,
    truths,
    updated_second,
)
from xurrent_async.simulator import FakeClock, SimulatorThread
from xurrent_async.state import to_iso
from xurrent_async.sync import run_sync

pytestmark = pytest.mark.reliability
CAP = 250


def _oldest(sim, table: str) -> int:
    return min(updated_second(r) for r in sim.truth(table).values())


@pytest.mark.parametrize(("throttled_header", "total_entries", "window_records"), [
    ("all", "exact", FAST.window_records),
    ("last", "exact", FAST.window_records),
    # No header: the walk ends short of its first page's total, and that is a cap.
    ("none", "exact", FAST.window_records),
    # No header and a total counted up to the cap: nothing tells, so no walk may go near the cap.
    ("none", "capped", CAP * 4 // 5),
])
def test_crowded_seconds_above_the_cap_on_window_boundaries_all_arrive(throttled_header, total_entries,
                                                                       window_records):
    clock = FakeClock()
    records = {"organizations": 6_000, "products": 4_000, "projects": 1_000}
    config = sim_config(records=records, record_cap=CAP, throttled_header=throttled_header, seed=21,
                        total_entries=total_entries)
    tuning = dataclasses.replace(FAST, window_records=window_records)
    with SimulatorThread(config, clock=clock) as sim:
        rng = random.Random(21)
        upper = int(clock.now())  # the Date of every response of the first sync
        crowds: dict[str, dict[str, int]] = {}

        def crowd(table: str, name: str, second: int, size: int) -> None:
            taken = {rid for c in crowds.values() for rid in c.get("_ids_" + table, [])}
            free = [rid for rid in sim.ids(table) if rid not in taken]
            chosen = rng.sample(free, size)
            sim.set_updated_at(table, chosen, second)
            crowds.setdefault(name, {})["second"] = second
            crowds[name]["_ids_" + table] = chosen  # type: ignore[assignment]

        lower = _oldest(sim, "organizations")
        # A full pass covers [oldest, upper) and its first split cuts it in equal parts (6 here, so
        # the middle is a boundary of a 2-, 3- and 6-way split alike).
        crowd("organizations", "pass start", lower, 600)
        crowd("organizations", "split boundary", lower + (upper - lower) // 2, 600)
        crowd("organizations", "last second of the pass", upper - 1, 600)
        crowd("organizations", "the pass's upper bound", upper, 600)  # the next pass's
        lower_p = _oldest(sim, "products")
        crowd("products", "products split boundary", lower_p + (upper - lower_p) // 6, 700)

        sink = RecordingSink()
        first = call_within(120, run_sync, settings_for(sim), None, sink, tuning=tuning)
        assert first.error is None, repr(first.error)
        requests_first = sim.stats.requests
        assert first.value.state["streams"]["organizations"]["cursor"] == to_iso(upper)
        # The server's clock moves on; the incremental pass [upper - lookback, now) holds the crowd
        # on `upper`, again above the cap.
        clock.advance(30)
        sim.reset_stats()
        second = call_within(60, run_sync, settings_for(sim), first.value.state, sink, tuning=tuning)
        assert second.error is None, repr(second.error)

        truth = truths(sim)
        compared = sum(len(r) for r in truth.values())
        placed = {name: c["second"] for name, c in crowds.items()}
        summary = (f"throttled header on {throttled_header} pages, total {total_entries}, cap {CAP}: crowds {placed}; "
                   f"first sync "
                   f"{first.seconds:.1f} s, {requests_first} requests, {first.value.rows} rows; second "
                   f"{sim.stats.requests} requests, {second.value.rows} rows; {compared} records compared")
        print(summary)
        problems = sink_differences(truth, sink)
        assert problems == [], summary + "\n" + "\n".join(problems)
        assert second.value.rows >= 600, summary  # the crowd on `upper` came with the second sync
        # The cap costs requests (a query yields at most CAP records, in 3 pages), but a bounded
        # number: at most 3× that minimum.
        assert requests_first <= 3 * (sum(records.values()) / CAP) * 3, summary
        assert_no_worker_left()


def test_an_unparseable_updated_at_inside_a_crowded_second_is_warned_and_the_sync_goes_on(caplog):
    clock = FakeClock()
    config = sim_config(records={"organizations": 2_000}, record_cap=CAP, seed=22)
    with SimulatorThread(config, clock=clock) as sim:
        ids = sim.ids("organizations")
        crowded = ids[700:1300]
        second = updated_second(sim.truth("organizations")[crowded[0]])
        sim.set_updated_at("organizations", crowded, second)
        broken = crowded[100]  # on the first capped page of that second
        sim.corrupt("organizations", broken, {"updated_at": "not a time"})
        sink = RecordingSink()
        with caplog.at_level(logging.WARNING, logger="xurrent_async"):
            outcome = call_within(60, run_sync, settings_for(sim), None, sink, tuning=FAST)
        assert outcome.error is None, repr(outcome.error)
        assert f"organizations id {broken}" in caplog.text
        assert sink.rows["organizations"][broken]["updated_at"] is None
        assert sink_differences(truths(sim, ("organizations",)), sink, ("organizations",)) == []
