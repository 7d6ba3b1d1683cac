"""Timestamps stored with a fraction (printed in whole seconds, filtered and sorted at the fraction)
and a bulk update of thousands of records within one minute, so that windows split inside that
minute: every internal window edge is then a crowded second. Sent as `>=A<=B−1s`, a window missed
every record stored in (B−1s, B), for good; sent as `>A−1s<B` it reads them, at the cost of
re-reading the records printed in the second before it, which these tests count and bound.

The server's clock is fixed (FakeClock), so each pass's bounds, and therefore its windows, are
known: the pass below is cut into windows of 250 s, and the bulk minute lies across one of their
edges (the test checks that it did, so that it cannot silently stop testing what it is for)."""

from __future__ import annotations

import bisect
import dataclasses
import random
import signal
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pytest

from tests.fakes import RecordingSink
from tests.reliability.helpers import (
    FAST,
    configuration,
    settings_for,
    sim_config,
    sink_differences,
    truths,
    updated_second,
)
from tests.reliability.sdk_checks import assert_no_secrets, claims_delivered, equal_to_source
from tests.sdk_harness import checkpoint_states, make_project, run_debug, saved_state
from xurrent_async.simulator import COLLECTIONS, FakeClock, SimulatorThread
from xurrent_async.state import from_iso
from xurrent_async.sync import run_sync

pytestmark = pytest.mark.reliability

END = 1_767_225_600  # 2026-01-01T00:00:00Z: the server's clock at the first sync
PAGE = 100
# One window a page: the new pass of the incremental sync (1,500 records) is cut in six windows.
TUNING = dataclasses.replace(FAST, min_pages_per_window=1)
RECORDS = {"organizations": 300, "products": 2_500, "projects": 2_500}
LOOKBACK = 300  # the default lookback_minutes, 5
RUN_TIMEOUT = 300  # seconds; held requests never end, so a state that never records progress is a timeout


def twenty_minutes_of_edits(sim: SimulatorThread, clock: FakeClock) -> dict[str, list[int]]:
    """A bulk update of 2,400 within one minute, across the edge END+700 of the windows the next
    pass is cut into, and 300 other products and projects changed every 4 s; then the clock moves
    on by those twenty minutes. Returns the bulk update's ids per table."""
    bulk = sim.bulk_update(2_400, at=END + 670)
    rng = random.Random(5)
    for table in ("products", "projects"):
        others = sorted(set(sim.ids(table)) - set(bulk[table]))
        for k, record_id in enumerate(rng.sample(others, 300)):
            sim.touch(table, [record_id], at=END + 4 * k)
    clock.advance(1_200)
    return bulk


def settings(sim: Any) -> Any:
    # The server's clock is fixed in the past: the periodic full re-read (due from the local clock)
    # would turn an incremental pass into a full one.
    return settings_for(sim, full_resync_days="0")


@dataclasses.dataclass
class Reads:
    """What a sync asked for: the first page of every query of a collection (not its next pages)."""

    queries: list[tuple[str, dict[str, str]]] = dataclasses.field(default_factory=list)

    def hook(self, collection: str, query: Mapping[str, str]) -> None:
        if collection in COLLECTIONS and "search_after" not in query:
            self.queries.append((collection, dict(query)))

    def window_starts(self) -> list[tuple[str, int]]:
        """(collection, A) of every window query `>A−1s<B`."""
        return [(c, from_iso(q["updated_at"][1:21]) + 1) for c, q in self.queries
                if q.get("updated_at", "").startswith(">") and not q["updated_at"].startswith(">=")]

    def window_ends(self) -> list[int]:
        """B of every window query (`<B`; `<=B−1s` in the form of old)."""
        ends = [q["updated_at"].split("<")[1] for _, q in self.queries if "<" in q.get("updated_at", "")]
        return [from_iso(end[1:]) + 1 if end.startswith("=") else from_iso(end) for end in ends]


def seconds_of(sim: Any) -> dict[str, Counter[int]]:
    """How many records each printed updated_at second holds, per collection."""
    return {t: Counter(updated_second(r) for r in sim.truth(t).values()) for t in COLLECTIONS}


def second_before(reads: Reads, per_second: dict[str, Counter[int]]) -> int:
    """The records printed in the second before each window (its `>A−1s`): what fractional storage
    may cost a sync in re-reads."""
    return sum(per_second[c][a - 1] for c, a in reads.window_starts())


def extra_read_bound(reads: Reads, per_second: dict[str, Counter[int]]) -> int:
    """What a sync may read beyond the records of its pass: for every window, the records printed in
    the second before it, and one page (a walk that crosses its shortened end reads at most one page
    past it; a continuation re-reads at most its last second)."""
    return second_before(reads, per_second) + PAGE * len(reads.window_starts())


def in_pass(per_second: dict[str, Counter[int]], lower: int, upper: int) -> int:
    return sum(n for counts in per_second.values() for second, n in counts.items() if lower <= second < upper)


@pytest.mark.parametrize("precision", ["fractional", "second"])
def test_a_bulk_update_across_window_edges_loses_no_record_under_either_precision(precision: str):
    clock = FakeClock(END)
    config = sim_config(records=RECORDS, timestamp_precision=precision, data_end=END - 7_200, history_days=30,
                        bulk_update=2_400, hot_fraction=0.0, seed=5)
    with SimulatorThread(config, clock=clock) as sim:
        sink = RecordingSink()
        first = run_sync(settings(sim), None, sink, tuning=TUNING)
        assert sink_differences(truths(sim), sink) == []
        bulk = twenty_minutes_of_edits(sim, clock)
        per_second = seconds_of(sim)
        reads = Reads()
        sim.before_serving = reads.hook
        sim.reset_stats()
        second = run_sync(settings(sim), first.state, sink, tuning=TUNING)
        served = sim.stats.records_served
        problems = sink_differences(truths(sim), sink)

    assert problems == [], f"{len(problems)} problem(s) after the incremental sync:\n" + "\n".join(problems)
    assert all(record_id in sink.rows[t] for t, ids in bulk.items() for record_id in ids)
    edges_in_bulk = sorted({b for b in reads.window_ends() if END + 670 < b < END + 730})
    needed = in_pass(per_second, END - LOOKBACK, END + 1_200)
    bound = extra_read_bound(reads, per_second)
    summary = (f"incremental sync under {precision} storage: {second.rows} rows, {needed} records in the pass, "
               f"{served} read ({served - needed:+}: bound {bound}, of which {second_before(reads, per_second)} "
               f"printed in the second before a window), {len(reads.queries)} queries, internal window edges "
               f"inside the bulk minute: {edges_in_bulk}")
    print(summary)
    assert edges_in_bulk, "no window edge fell inside the bulk minute: the test no longer tests it"
    assert needed <= served <= needed + bound, summary


# -- through the SDK's runner ------------------------------------------------------------------------
@pytest.mark.slow
def test_through_the_sdk_a_killed_full_sync_and_an_incremental_sync_over_bulk_updates_end_equal(tmp_path):
    """Fractional storage, a bulk update in the history and another across a window edge of the
    incremental pass: the full sync is killed while it reads the first bulk minute (the kill comes
    once the sync is held there and a checkpoint has saved progress), the rerun resumes it, and the
    incremental sync then runs whole. Every row of every table equals the source after each, the
    killed run's state claims only delivered records, and the incremental sync's extra reads stay
    within their bound."""
    clock = FakeClock(END)
    config = sim_config(records=RECORDS, timestamp_precision="fractional", data_end=END - 7_200, history_days=30,
                        bulk_update=2_400, hot_fraction=0.0, seed=5)
    with SimulatorThread(config, clock=clock) as sim:
        tuning = {"min_pages_per_window": 1, "checkpoint_seconds": 0.5}
        project = make_project(tmp_path, copy_package=True, tuning=tuning)
        settings = configuration(sim, full_resync_days="0", request_timeout_seconds="300")
        # One request in flight: the products pass is one walk in updated_at order, so the page to
        # hold it after is known: the one that ends in the middle of the first bulk minute.
        printed = sorted(updated_second(r) for r in sim.truth("products").values())
        bulk_start = END - 7_200 - 3_600
        middle = bisect.bisect_left(printed, bulk_start) + 600

        def claimed_inside_the_bulk(state: dict[str, Any]) -> bool:
            done = ((state.get("streams", {}).get("products") or {}).get("pass") or {}).get("done", [])
            return any(bulk_start < from_iso(b) < bulk_start + 60 for _, b in done)

        with sim.hold_after(middle // PAGE, "products") as hold:
            killed = run_debug(project, {**settings, "max_concurrency": "1"}, timeout=RUN_TIMEOUT,
                               kill_when=lambda lines: hold.holding.is_set()
                               and any(claimed_inside_the_bulk(s) for s in checkpoint_states(lines)))
        assert killed.killed and killed.returncode == -signal.SIGKILL, killed.output[-3000:]
        problems, claimed = claims_delivered(sim, project)
        assert problems == [], "the state claims undelivered records:\n" + "\n".join(problems)
        assert claimed_inside_the_bulk(saved_state(project))  # the claim ends inside a crowded second

        rerun = run_debug(project, settings, timeout=RUN_TIMEOUT)
        assert rerun.returncode == 0, rerun.output[-3000:]
        problems, compared_full = equal_to_source(sim, project)
        assert problems == [], "after the full sync:\n" + "\n".join(problems)

        twenty_minutes_of_edits(sim, clock)
        per_second = seconds_of(sim)
        reads = Reads()
        sim.before_serving = reads.hook
        sim.reset_stats()
        incremental = run_debug(project, settings, timeout=RUN_TIMEOUT)
        served = sim.stats.records_served
        assert incremental.returncode == 0, incremental.output[-3000:]
        assert_no_secrets(project, incremental, sim)
        problems, compared = equal_to_source(sim, project)

    needed = in_pass(per_second, END - LOOKBACK, END + 1_200)
    bound = extra_read_bound(reads, per_second)
    edges_in_bulk = sorted({b for b in reads.window_ends() if END + 670 < b < END + 730})
    summary = (f"fractional storage through the SDK: killed {killed.killed_at:.1f} s into the full sync with "
               f"{claimed} records claimed and found; after the rerun {compared_full} records equal; incremental: "
               f"{needed} records in the pass, {served} read ({served - needed:+}, bound {bound}, of which "
               f"{second_before(reads, per_second)} printed in the second before a window), {len(reads.queries)} "
               f"queries, window edges inside the bulk minute {edges_in_bulk}; {compared} records equal")
    print(summary)
    assert problems == [], "after the incremental sync:\n" + "\n".join(problems)
    assert edges_in_bulk, "no window edge fell inside the bulk minute: the test no longer tests it"
    assert needed <= served <= needed + bound, summary
