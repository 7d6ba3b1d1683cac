"""Records that change while a sync runs (1 % of each collection per second, and edits placed on
window boundaries), and a server clock ten minutes ahead of or behind ours: nothing is missed."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

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
)
from xurrent_async.simulator import COLLECTIONS, SimulatorThread, SystemClock
from xurrent_async.state import from_iso
from xurrent_async.sync import run_sync

pytestmark = pytest.mark.reliability


class BoundaryEditor(RecordingSink):
    """At its first few checkpoints, edits records so that their new updated_at falls on the
    seconds the checkpointed state names: each open pass's upper bound (the Date of the pass's
    first response) and the ends of its finished windows, and one second before each: the seconds
    where an off-by-one in a `>=`/`<` filter loses records. Only seconds within the last
    `recent_seconds` of the server's clock are used: a write is never older than that when it
    becomes visible (that is what the connector's lookback absorbs); moving a record years back
    would be a write no API makes. A stream whose pass has not reached the sink yet still shows the
    cursor of the sync before (`since`): that is not a boundary of this sync, and is left alone."""

    def __init__(self, sim: Any, rng: random.Random, *, offsets: tuple[int, ...] = (-1, 0),
                 upper_only: bool = False, per_second: int = 3, rounds: int = 3, recent_seconds: int = 240,
                 since: dict[str, Any] | None = None):
        super().__init__()
        self._since = {t: s.get("cursor") for t, s in ((since or {}).get("streams") or {}).items()}
        self._sim = sim
        self._offsets = offsets
        self._upper_only = upper_only
        self._rng = rng
        self._per_second = per_second
        self._rounds = rounds
        self._recent = recent_seconds
        self.edited: dict[str, set[int]] = {t: set() for t in COLLECTIONS}
        self.seconds: set[tuple[str, int]] = set()

    def checkpoint(self, state: dict[str, Any]) -> None:
        super().checkpoint(state)
        if len(self.checkpoints) > self._rounds:
            return
        now = int(self._sim.clock.now())
        for table, stream in state["streams"].items():
            marks = set()
            if stream.get("pass"):
                p = stream["pass"]
                marks.add(from_iso(p["upper"]))
                if not self._upper_only:
                    marks |= {from_iso(end) for _, end in p["done"]}
            elif stream.get("cursor") and stream["cursor"] != self._since.get(table):
                marks.add(from_iso(stream["cursor"]))  # the pass ended in this sync: its upper
            ids = self._sim.ids(table)
            for mark in marks:
                for second in (mark + offset for offset in self._offsets):
                    if not now - self._recent <= second <= now:
                        continue
                    chosen = self._rng.sample(ids, self._per_second)
                    self._sim.touch(table, chosen, at=second)
                    self.edited[table].update(chosen)
                    self.seconds.add((table, second))


def _sync(sim, sink, state, lookback_minutes: int | None = None, **extra):
    settings = settings_for(sim, **extra)
    if lookback_minutes is not None:  # the settings refuse 0; the pass logic takes it, for a test
        settings = dataclasses.replace(settings, lookback_minutes=lookback_minutes)
    outcome = call_within(60, run_sync, settings, state, sink, tuning=FAST)
    assert outcome.error is None, repr(outcome.error)
    assert_no_worker_left()
    return outcome


def test_records_changing_during_syncs_and_on_window_boundaries_all_arrive():
    config = sim_config(records=5_000, latency=0.02, changes_per_second=0.01, seed=3)
    with SimulatorThread(config, clock=SystemClock()) as sim:
        rng = random.Random(3)
        # Sync 1 (full), while 1 %/s of the records change, with edits on each pass's upper second
        # and on the ends of finished windows, and one second before (the lookback's job). Small
        # pages: a sync of a few seconds, split into windows.
        sink = BoundaryEditor(sim, rng)
        first = _sync(sim, sink, None, max_records_per_page="25")
        # Sync 2 (incremental), still under changes, edited on its passes' upper seconds only.
        second_sink = BoundaryEditor(sim, rng, offsets=(0,), upper_only=True, since=first.value.state)
        second_sink.rows = sink.rows
        second = _sync(sim, second_sink, first.value.state, max_records_per_page="25")
        assert second.value.rows < first.value.rows / 2  # incremental, not a re-read
        # Changes stop. Sync 3 runs with no lookback at all, so it must take the records written in
        # the second its predecessor's passes started (`updated_at>=upper`) on its own. It must
        # start in a later second than the last change: changes in the very second a pass starts
        # belong to the next pass by design. Move the server's clock on instead of sleeping.
        sim.config.changes_per_second = 0.0
        sim.clock.skew_seconds += 2
        third_sink = RecordingSink()
        third_sink.rows = sink.rows
        third = _sync(sim, third_sink, second.value.state, max_records_per_page="25", lookback_minutes=0)

        truth = truths(sim)
        edited_by_sim = sum(1 for t in COLLECTIONS for r in truth[t].values() if "(edit" in
                            str(r.get("name") or r.get("subject")))
        on_upper = {(t, rid) for t in COLLECTIONS for rid in second_sink.edited[t]}
        taken_by_third = {(table, row["id"]) for kind, table, row in third_sink.ops if kind == "upsert"}
        compared = sum(len(r) for r in truth.values())
        summary = (f"syncs of {first.seconds:.1f} s, {second.seconds:.1f} s, {third.seconds:.1f} s: {edited_by_sim} "
                   f"records edited in all, {sum(len(v) for v in sink.edited.values())} + {len(on_upper)} of them "
                   f"on {len(sink.seconds | second_sink.seconds)} boundary seconds; {compared} records compared")
        print(summary)
        # Sync 1 alone is 600 pages at 20 ms of latency with 8 in flight, at least 1.5 s on any machine:
        # 1 %/s of 15,000 records is over 200 edits in that time, besides those on boundary seconds.
        assert edited_by_sim > 200 and sink.seconds and on_upper, summary
        assert on_upper <= taken_by_third, f"{summary}: edits on sync 2's upper second not in sync 3"
        problems = sink_differences(truth, sink)
        assert problems == [], summary + "\n" + "\n".join(problems)


@pytest.mark.parametrize("skew", [600, -600], ids=["server-10min-ahead", "server-10min-behind"])
def test_a_skewed_server_clock_loses_nothing_and_its_quota_resets_are_read_relative_to_its_date(skew):
    # A small hourly quota with a 3-second "hour": the sync must wait for resets that the server
    # announces on its own (skewed) clock; read with our clock, it would wait 10 min or not at all.
    config = sim_config(records=1_500, hourly_limit=30, hour_seconds=3.0, seed=8)
    with SimulatorThread(config, clock=SystemClock(skew_seconds=skew)) as sim:
        sink = RecordingSink()
        full = _sync(sim, sink, None)
        requests_full, throttled_full = sim.stats.requests, sim.stats.rate_limited
        # Edits at the server's now, and on the cursor second itself.
        rng = random.Random(skew)
        for table in COLLECTIONS:
            cursor = from_iso(full.value.state["streams"][table]["cursor"])
            sim.touch(table, rng.sample(sim.ids(table), 40))
            sim.touch(table, rng.sample(sim.ids(table), 5), at=cursor)
            sim.touch(table, rng.sample(sim.ids(table), 5), at=cursor - 1)
        sim.reset_stats()
        incremental = _sync(sim, sink, full.value.state)
        truth = truths(sim)
        compared = sum(len(r) for r in truth.values())
        summary = (f"skew {skew:+} s: full sync {full.seconds:.1f} s ({requests_full} requests, {throttled_full} "
                   f"429s), incremental {incremental.seconds:.1f} s ({sim.stats.requests} requests, "
                   f"{incremental.value.rows} rows); {compared} records compared")
        print(summary)
        assert sink_differences(truth, sink) == [], summary
        assert incremental.value.rows < 200, summary
        assert requests_full > 30 and full.seconds < 30, summary  # it met the quota, and waited briefly
        assert throttled_full <= 3, summary
