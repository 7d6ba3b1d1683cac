"""A sync through a hostile network: HTML 5xx from a proxy, connection resets, stalls past the
timeout, 429 storms (Retry-After in seconds and as an HTTP-date) and truncated JSON on 200. It
succeeds and delivers every record with every value; when the faults outlast retry_attempts it
fails clearly, never claims what it did not deliver, and the next sync completes."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from tests.fakes import RecordingSink
from tests.reliability.helpers import (
    FAST,
    STEPPED,
    FlipSink,
    assert_no_worker_left,
    call_within,
    early_claims,
    left_to_read,
    settings_for,
    sim_config,
    sink_differences,
    truths,
    updated_second,
)
from xurrent_async.errors import ApiError
from xurrent_async.simulator import COLLECTIONS, FaultConfig, SimulatorThread
from xurrent_async.sync import run_sync

pytestmark = pytest.mark.reliability

# Per authenticated request. A numeric Retry-After of 0 keeps the test short; the HTTP-date half
# still makes every stream wait up to a second (the header has whole seconds). The rarer faults are
# frequent enough that each comes several times in the ~380 requests of the sync.
CHAOS = FaultConfig(html_5xx=0.10, reset=0.03, stall=0.03, stall_seconds=1.5, rate_429=0.05,
                    retry_after_seconds=0, retry_after_http_date=0.5, truncated_json=0.02)
PER_STREAM = 10_000


def _seconds(truth: dict[str, dict[int, dict[str, Any]]]) -> dict[str, dict[int, int]]:
    return {t: {rid: updated_second(r) for rid, r in records.items()} for t, records in truth.items()}


def test_a_sync_through_chaos_delivers_every_record_with_every_value():
    with SimulatorThread(sim_config(records=PER_STREAM, faults=CHAOS, seed=11)) as sim:
        # request_timeout_seconds=1 is below what settings accept (10): set after validation.
        settings = dataclasses.replace(settings_for(sim, retry_attempts="10"), request_timeout_seconds=1)
        sink = RecordingSink()
        outcome = call_within(180, run_sync, settings, None, sink, tuning=FAST)
        stats = sim.stats
        injected = dict(sorted(stats.faults.items()))
        summary = (f"chaos sync: {outcome.seconds:.1f} s, {stats.requests} requests, injected {injected} "
                   f"({stats.retry_after_http_date} of {stats.rate_limited} 429s with an HTTP-date Retry-After)")
        assert outcome.error is None, f"{summary}: the sync failed: {outcome.error!r}"
        assert outcome.seconds < 120, summary  # 429 pauses, stalls and backoff cost time, within bounds
        report = outcome.value
        truth = truths(sim)
        compared = sum(len(records) for records in truth.values())
        summary += (f"; client saw {report.retries} retries, {report.throttled} 429s; "
                    f"{compared:,} records compared, {len(sink.checkpoints)} checkpoints")
        print(summary)

        assert compared == 3 * PER_STREAM
        # Every kind of fault really happened, in roughly the asked share.
        for kind in ("html_5xx", "reset", "stall", "rate_429", "truncated_json"):
            assert injected.get(kind, 0) > 0, f"{kind} never injected: {summary}"
        assert stats.retry_after_http_date > 0 and stats.rate_limited - stats.retry_after_http_date > 0, summary
        assert stats.faults["html_5xx"] >= 0.05 * stats.requests, summary

        problems = sink_differences(truth, sink)
        assert problems == [], f"{summary}\n" + "\n".join(problems)
        early, claims = early_claims(sink.ops, _seconds(truth))
        assert early == [], f"{summary}\n" + "\n".join(early)
        assert claims > 0
        final = report.state["streams"]
        assert all(final[t]["cursor"] and "pass" not in final[t] for t in COLLECTIONS), final
        assert_no_worker_left()


PERSISTENT = {
    "html_5xx": (FaultConfig(html_5xx=1.0), r"HTTP 50[23] from Xurrent for /v1/(organizations|products|projects): "
                 r".*gave up after 3 attempts"),
    "reset": (FaultConfig(reset=1.0), r"no response from Xurrent for /v1/(organizations|products|projects): "
              r"connection failed .*gave up after 3 attempts"),
    "stall": (FaultConfig(stall=1.0, stall_seconds=3.0), r"no response from Xurrent for "
              r"/v1/(organizations|products|projects): no response within 1 s .*gave up after 3 attempts"),
    "truncated_json": (FaultConfig(truncated_json=1.0), r"HTTP 200 from Xurrent for "
                       r"/v1/(organizations|products|projects): the body is not valid JSON"),
}


@pytest.mark.parametrize("kind", list(PERSISTENT))
def test_faults_that_outlast_the_retries_fail_clearly_and_the_next_sync_completes(kind):
    faults, message = PERSISTENT[kind]
    with SimulatorThread(sim_config(records=2_000, latency=0.002, seed=5)) as sim:
        settings = dataclasses.replace(settings_for(sim, retry_attempts="2", max_concurrency="2"),
                                       request_timeout_seconds=1)
        truth = truths(sim)
        seconds = {t: {rid: updated_second(r) for rid, r in records.items()} for t, records in truth.items()}

        def flip() -> None:
            sim.config.faults = faults
            served_at_flip.append(sim.stats.pages_served)

        served_at_flip: list[int] = []
        sink = FlipSink(flip)
        failed = call_within(60, run_sync, settings, None, sink, tuning=STEPPED)
        injected = dict(sim.stats.faults)
        assert sink.flipped_at is not None and served_at_flip, "no checkpoint claimed a finished window"
        summary = (f"{kind}: switched on at checkpoint {sink.flipped_at[0]} after {sink.flipped_at[1]} rows, "
                   f"{served_at_flip[0]} of the 60 pages served; failed after {failed.seconds:.1f} s, "
                   f"{len(sink.checkpoints)} checkpoints, {sum(len(r) for r in sink.rows.values())} rows before it; "
                   f"injected {injected}")
        print(summary)
        assert isinstance(failed.error, ApiError), f"{summary}: {failed.error!r}"
        assert re.search(message, str(failed.error)), f"{summary}: {failed.error}"
        assert failed.seconds < 30, summary
        assert injected.get(kind, 0) >= 3, summary
        assert_no_worker_left()
        early, claims = early_claims(sink.ops, seconds)
        assert early == [] and claims > 0, f"{summary}\n" + "\n".join(early)
        last = sink.checkpoints[-1]
        assert any(not s.get("cursor") for s in last["streams"].values()), "nothing was left to fail?"

        # The next sync, faults gone, resumes from the last checkpoint and leaves nothing missing.
        sim.config.faults = FaultConfig()
        sim.reset_stats()
        resumed = call_within(60, run_sync, settings, last, sink, tuning=FAST)
        assert resumed.error is None, repr(resumed.error)
        problems = sink_differences(truth, sink)
        compared = sum(len(r) for r in truth.values())
        assert problems == [], f"{summary}; {compared} records compared\n" + "\n".join(problems)
        print(f"{kind}: resumed in {resumed.seconds:.1f} s, {sim.stats.records_served} records re-read; "
              f"{compared} records compared")
        # It resumed from the checkpoint rather than starting over: it read what the checkpoint did
        # not claim, plus at most a page per open window and per stream.
        left, holes = left_to_read(last, seconds)
        assert sim.stats.records_served <= left + 100 * (holes + 3), (
            f"{summary}: resumed sync read {sim.stats.records_served}, {left} were left in {holes} windows")
        assert_no_worker_left()
