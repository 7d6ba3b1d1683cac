"""Extraction + consumer (run_sync) against the simulator with a recording sink: every record
arrives, caps and shared seconds are handled, changes are caught, checkpoints never run ahead."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from tests.fakes import RecordingSink, checkpoint_claims
from tests.sdk_harness import differences
from xurrent_async.errors import ApiError, Interrupted, StateMismatchError
from xurrent_async.resources import BY_TABLE, RowMapper, parse_timestamp
from xurrent_async.settings import parse_settings
from xurrent_async.simulator import COLLECTIONS, FaultConfig, SimConfig, SimulatorThread
from xurrent_async.state import from_iso, to_iso
from xurrent_async.sync import run_sync
from xurrent_async.tuning import Tuning

FAST = Tuning(backoff_base_seconds=0.01, backoff_max_seconds=0.05, checkpoint_seconds=0.2)


def settings_for(sim, **extra: str):
    config = {"oauth_token": "sim-token", "account_id": "sim-account", "base_url": sim.base_url,
              "burst_limit": "10000", "rate_limit_per_hour": "1000000"}
    config.update(extra)
    return parse_settings(config)[0]


def unlimited(**kwargs) -> SimConfig:
    kwargs.setdefault("burst_limit", None)
    kwargs.setdefault("hourly_limit", None)
    return SimConfig(**kwargs)


def assert_sink_equals_source(sim, sink: RecordingSink, tables=COLLECTIONS) -> None:
    for table in tables:
        assert differences(sim.truth(table), sink.rows.get(table, {}), table) == []


def updated_second(record) -> int:
    return int(parse_timestamp(record["updated_at"]).timestamp())


def test_a_capped_api_still_delivers_every_record():
    with SimulatorThread(unlimited(records={"products": 20_000}, record_cap=1_000)) as sim:
        sink = RecordingSink()
        report = run_sync(settings_for(sim), None, sink, tuning=FAST)
        assert_sink_equals_source(sim, sink, ("products",))
        assert report.streams["products"].rows >= 20_000
        # The cap forced many windows, yet requests stayed near the minimum of 200.
        assert sim.stats.requests <= 200 * 1.25, sim.stats.requests


@pytest.mark.parametrize("throttled_header", ["all", "last"])
def test_one_second_holding_more_records_than_the_cap_is_read_by_id(throttled_header):
    config = unlimited(records={"organizations": 3_000}, record_cap=200, throttled_header=throttled_header)
    with SimulatorThread(config) as sim:
        crowded = sim.ids("organizations")[1000:1500]
        second = updated_second(sim.truth("organizations")[crowded[0]])
        sim.set_updated_at("organizations", crowded, second)  # 500 records on one second, cap 200
        sink = RecordingSink()
        run_sync(settings_for(sim), None, sink, tuning=FAST)
        assert_sink_equals_source(sim, sink, ("organizations",))


class EditingSink(RecordingSink):
    """Changes a few records every `every` rows it takes, up to `edits` times: edits during a sync,
    at moments set by its progress rather than by a clock."""

    def __init__(self, sim, table: str, every: int, edits: int):
        super().__init__()
        self._sim, self._table, self._every, self._edits = sim, table, every, edits
        self._ids = sim.ids(table)
        self.taken = self.made = 0

    def upsert(self, table: str, row: dict) -> None:
        super().upsert(table, row)
        self.taken += 1
        if self.taken % self._every == 0 and self.made < self._edits:
            at = self.made * 7 % len(self._ids)
            self._sim.touch(self._table, self._ids[at:at + 3])
            self.made += 1


def test_records_changed_during_a_sync_arrive_with_new_values_on_the_next_one():
    config = unlimited(records=4_000, latency=0.002)
    with SimulatorThread(config) as sim:
        # Edits move records past the pass's end, so it may read fewer than 12,000 rows; at least 10,800.
        sink = EditingSink(sim, "projects", every=25, edits=400)  # all 400 by the 10,000th row
        first = run_sync(settings_for(sim), None, sink, tuning=FAST)
        assert sink.made == 400
        # An edit in the very second the next pass starts belongs to the pass after it (>= upper):
        # move the server's clock on, as time would, so the next sync is the one that owes them.
        sim.clock.skew_seconds += 2
        second = run_sync(settings_for(sim), first.state, sink, tuning=FAST)
        assert second.rows < first.rows  # incremental, not a re-read
        assert_sink_equals_source(sim, sink)


def test_records_on_the_boundary_second_are_never_lost():
    with SimulatorThread(unlimited(records=1_000)) as sim:
        sink = RecordingSink()
        # No lookback (the settings refuse it; the pass logic takes it): the boundary alone must hold.
        exact = dataclasses.replace(settings_for(sim), lookback_minutes=0)
        first = run_sync(exact, None, sink, tuning=FAST)
        upper = from_iso(first.state["streams"]["products"]["cursor"])
        # Records written in the very second the pass ended, and just before it.
        sim.set_updated_at("products", sim.ids("products")[:5], upper)
        sim.set_updated_at("products", sim.ids("products")[5:10], upper - 1)
        for record_id in sim.ids("products")[:10]:
            sim.touch("products", [record_id], at=upper if record_id in sim.ids("products")[:5] else upper - 1)
        run_sync(exact, first.state, sink, tuning=FAST)
        ids = sim.ids("products")[:5]
        truth = sim.truth("products")
        # Those at `upper` belong to the next pass (>= upper): they arrived, with their new values.
        for record_id in ids:
            assert sink.rows["products"][record_id] == RowMapper(BY_TABLE["products"]).map(truth[record_id], [])


def test_every_checkpoint_claims_only_windows_whose_rows_were_already_upserted():
    with SimulatorThread(unlimited(records=5_000, record_cap=700)) as sim:
        seconds = {t: {rid: updated_second(r) for rid, r in sim.truth(t).items()} for t in COLLECTIONS}
        sink = RecordingSink()
        run_sync(settings_for(sim), None, sink, tuning=Tuning(checkpoint_rows=300, checkpoint_seconds=0.05))
        claims = 0
        for table, a, b, upserted in checkpoint_claims(sink.ops):
            due = {rid for rid, s in seconds[table].items() if a <= s < b}
            assert due <= upserted, f"{table} {to_iso(a)}..{to_iso(b)} claimed early"
            claims += 1
        assert claims > 10 and len(sink.checkpoints) > 5


def test_a_resumed_pass_reads_only_its_gaps(caplog):
    caplog.set_level("INFO", logger="xurrent_async")
    with SimulatorThread(unlimited(records={"organizations": 4_000})) as sim:
        sink = RecordingSink()
        full = run_sync(settings_for(sim), None, sink, tuning=FAST)
        cursor = from_iso(full.state["streams"]["organizations"]["cursor"])
        times = sorted(updated_second(r) for r in sim.truth("organizations").values())
        middle = times[len(times) // 2]
        resumed_state = {"format": 2, "streams": {"organizations": {"cursor": None, "pass": {
            "lower": to_iso(times[0]), "upper": to_iso(cursor), "done": [[to_iso(times[0]), to_iso(middle)]]}}}}
        sim.reset_stats()
        fresh = RecordingSink()
        report = run_sync(settings_for(sim), resumed_state, fresh, tuning=FAST)
        left = sum(1 for t in times if t >= middle)
        # The resume line says how much is left, from the first page of each gap (no extra request).
        assert (f"organizations: resuming the pass {to_iso(times[0])} → {to_iso(cursor)}: {left:,} records left "
                "to read in 1 window(s)") in caplog.text
        assert set(fresh.rows["organizations"]) == {
            rid for rid, r in sim.truth("organizations").items() if updated_second(r) >= middle}
        # Nothing before `middle` is asked for; a window shortened to lend its far end to an idle
        # slot reads at most one page past its end.
        windows = report.streams["organizations"].windows_done
        assert sim.stats.records_served <= left + 100 * windows
        assert windows <= 16  # the default 8 slots, each split at most once more
        assert report.state["streams"]["organizations"]["cursor"] == to_iso(cursor)


def test_with_incremental_sync_off_every_sync_reads_everything():
    with SimulatorThread(unlimited(records=500)) as sim:
        first = run_sync(settings_for(sim), None, RecordingSink(), tuning=FAST)
        second_sink = RecordingSink()
        run_sync(settings_for(sim, enable_incremental_sync="false"), first.state, second_sink, tuning=FAST)
        assert_sink_equals_source(sim, second_sink)


def test_initial_sync_days_limits_the_first_sync_to_recent_records():
    with SimulatorThread(unlimited(records=2_000)) as sim:
        sink = RecordingSink()
        run_sync(settings_for(sim, initial_sync_days="30"), None, sink, tuning=FAST)
        since = time.time() - 30 * 86400
        for table in COLLECTIONS:
            truth = sim.truth(table)
            expected = {rid for rid, r in truth.items() if updated_second(r) >= since + 60}
            got = set(sink.rows.get(table, {}))
            assert expected <= got
            assert all(updated_second(truth[rid]) >= since - 86400 - 120 for rid in got)  # a day spare for skew
            assert len(got) < 2_000


def test_the_original_examples_state_triggers_one_safe_full_sync():
    with SimulatorThread(unlimited(records=300)) as sim:
        sink = RecordingSink()
        report = run_sync(settings_for(sim), {"last_sync_time": "2099-01-01T00:00:00Z"}, sink, tuning=FAST)
        assert_sink_equals_source(sim, sink)
        assert report.state["format"] == 2


def test_a_worker_failure_surfaces_with_its_message_and_nothing_is_claimed():
    faults = FaultConfig(html_5xx=1.0)
    with SimulatorThread(unlimited(records=300, faults=faults)) as sim:
        sink = RecordingSink()
        started = time.monotonic()
        with pytest.raises(ApiError, match=r"HTTP 50[23] from Xurrent for /v1/\w+"):
            run_sync(settings_for(sim, retry_attempts="1"), None, sink, tuning=FAST)
        assert time.monotonic() - started < 30
        for state in sink.checkpoints:
            assert all(s.get("cursor") is None for s in state["streams"].values())
        # The next sync, faults gone, completes with nothing missing.
        sim.config.faults = FaultConfig()
        run_sync(settings_for(sim), sink.checkpoints[-1] if sink.checkpoints else None, sink, tuning=FAST)
        assert_sink_equals_source(sim, sink)


def test_a_failing_destination_stops_the_worker_and_update_returns():
    with SimulatorThread(unlimited(records=5_000, latency=0.001)) as sim:
        before = set(threading.enumerate())
        with pytest.raises(RuntimeError, match="destination write failed"):
            run_sync(settings_for(sim), None, RecordingSink(fail_on_upsert=250), tuning=FAST)
        # run_sync joined its extraction thread (and its executor's) before raising; threads the
        # simulator's own loop started meanwhile are the only new ones.
        left = [t for t in set(threading.enumerate()) - before if t.is_alive()]
        assert not [t for t in left if t.name == "xurrent-extract"]
        assert not [t for t in left if not t.name.startswith("asyncio_") or t.daemon is False], left


def test_a_failing_stream_stops_the_sync_at_once_not_after_the_others_finish():
    # Products are forbidden; the other two streams would take long to walk at this latency.
    config = unlimited(records={"organizations": 20_000, "products": 100, "projects": 20_000}, latency=0.05,
                       forbidden=("products",))
    with SimulatorThread(config) as sim:
        started = time.monotonic()
        with pytest.raises(ApiError, match="HTTP 403"):
            run_sync(settings_for(sim, max_concurrency="2"), None, RecordingSink(), tuning=FAST)
        # The whole sync would need 400 requests and ~20 s: it stopped after the first few, and
        # well within a bound that leaves room for a much slower machine.
        assert sim.stats.requests < 10, sim.stats.requests
        assert time.monotonic() - started < 5


def test_checkpoints_record_the_read_part_of_an_open_window():
    # One slot: the products pass is one window, read page after page. Every checkpoint inside
    # it claims the seconds before the last upserted row's, and never a record not yet upserted.
    with SimulatorThread(unlimited(records={"products": 3_000})) as sim:
        seconds = {rid: updated_second(r) for rid, r in sim.truth("products").items()}
        sink = RecordingSink()
        report = run_sync(settings_for(sim, max_concurrency="1"), None, sink,
                          tuning=Tuning(checkpoint_rows=500, checkpoint_seconds=1e9))
        assert report.streams["products"].windows_planned == 1
        open_window = [c["streams"]["products"]["pass"]["done"] for c in sink.checkpoints
                       if "pass" in c["streams"].get("products", {})]
        ends = [from_iso(done[0][1]) for done in open_window if done]
        assert len(ends) >= 4 and ends == sorted(ends) and len(set(ends)) == len(ends), open_window
        for table, a, b, upserted in checkpoint_claims(sink.ops):
            if table == "products":
                assert {rid for rid, s in seconds.items() if a <= s < b} <= upserted, (to_iso(a), to_iso(b))
        # What each of those checkpoints leaves to a rerun: the records from its end on, which
        # is the rows not yet upserted plus at most the rest of the last row's second.
        times = sorted(seconds.values())
        for checkpoint_rows, end in zip(range(500, 3_000, 500), ends, strict=False):
            left = sum(1 for s in times if s >= end)
            assert 3_000 - checkpoint_rows <= left <= 3_000 - checkpoint_rows + 100


def test_a_state_of_another_account_fails_before_any_request_and_nothing_is_written():
    with SimulatorThread(unlimited(records=200)) as sim:
        first = run_sync(settings_for(sim), None, RecordingSink(), tuning=FAST)
        assert first.state["source"] == {"account_id": "sim-account", "host": "127.0.0.1"}
        sim.reset_stats()
        sink = RecordingSink()
        with pytest.raises(StateMismatchError, match=r"belongs to account 'sim-account' at 127\.0\.0\.1"):
            run_sync(settings_for(sim, account_id="another-account"), first.state, sink, tuning=FAST)
        assert sim.stats.requests == 0 and sink.ops == []


def test_a_stop_request_saves_what_was_read_then_raises_interrupted_and_a_rerun_resumes():
    with SimulatorThread(unlimited(records={"products": 3_000})) as sim:
        stop = threading.Event()

        class StopMidWindow(RecordingSink):
            def upsert(self, table, row):
                super().upsert(table, row)
                if len(self.rows[table]) == 750:  # Ctrl-C, between two checkpoints
                    stop.set()

        sink = StopMidWindow()
        settings = settings_for(sim, max_concurrency="1")
        with pytest.raises(Interrupted, match=r"What was read until now is saved \(\d[\d,]* rows in this run\): "
                                              "rerun to resume"):
            run_sync(settings, None, sink, tuning=Tuning(checkpoint_rows=500, checkpoint_seconds=1e9), stop=stop)
        assert sink.ops[-1][0] == "checkpoint"  # the rows read since the last checkpoint are saved too
        assert len(sink.rows["products"]) < 3_000
        run_sync(settings, sink.checkpoints[-1], sink, tuning=FAST)
        assert_sink_equals_source(sim, sink)
