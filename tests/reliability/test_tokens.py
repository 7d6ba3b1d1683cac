"""OAuth client credentials whose access tokens live two seconds, during a sync that lasts several
times that: the connector refreshes ahead of expiry and, when the server kills a token before the
life it announced, once more after the 401. The sync never fails for it.

The sync's length comes from the simulator's latency, a floor no machine can go below: 2,700
records at 20 a page with 2 in flight are 67 rounds of at least 60 ms, over 4 s, while the third
token comes about 2 s in."""

from __future__ import annotations

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
from xurrent_async.simulator import FakeClock, SimulatorThread, SystemClock
from xurrent_async.sync import run_sync

pytestmark = pytest.mark.reliability
TTL = 2.0


class PhaseSink(RecordingSink):
    """Once the connector has fetched `tokens` tokens on its own (proactive refreshes), makes the
    token endpoint announce an hour while tokens still die after TTL: from then on only a 401
    tells the connector that its token is dead. At that moment the server's clock also moves on by
    TTL, so the token in use dies at once (about a second before the connector would replace it):
    the next request meets a dead token however soon the sync ends."""

    def __init__(self, sim: Any, clock: SystemClock, tokens: int):
        super().__init__()
        self._sim = sim
        self._clock = clock
        self._tokens = tokens
        self.flipped_at: tuple[int, int] | None = None  # (token requests, 401s) at the flip

    def checkpoint(self, state: dict[str, Any]) -> None:
        super().checkpoint(state)
        stats = self._sim.stats
        if self.flipped_at is None and stats.token_requests >= self._tokens:
            self._sim.config.token_expires_in = 3600
            self._clock.skew_seconds += TTL
            self.flipped_at = (stats.token_requests, stats.by_status.get(401, 0))


def test_tokens_expiring_every_two_seconds_never_fail_a_long_sync():
    config = sim_config(records=900, token_ttl_seconds=TTL, latency=0.06, latency_jitter=0.06, seed=4)
    clock = SystemClock()
    with SimulatorThread(config, clock=clock) as sim:
        sink = PhaseSink(sim, clock, tokens=3)
        settings = settings_for(sim, oauth=True, max_records_per_page="20", max_concurrency="2")
        outcome = call_within(90, run_sync, settings, None, sink, tuning=FAST)
        stats = sim.stats
        truth = truths(sim)
        compared = sum(len(r) for r in truth.values())
        flipped = sink.flipped_at or (0, 0)
        unauthorized = stats.by_status.get(401, 0)
        summary = (f"OAuth sync of {outcome.seconds:.1f} s with {TTL:g} s tokens: {stats.token_requests} token "
                   f"requests ({flipped[0]} on the connector's own schedule, then {stats.token_requests - flipped[0]} "
                   f"more once the endpoint announced an hour), {unauthorized} requests answered 401 ({flipped[1]} "
                   f"before that), {stats.requests} API requests; {compared} records compared")
        print(summary)
        assert outcome.error is None, f"{summary}: {outcome.error!r}"
        # The sync outlived several tokens: three on the connector's own schedule, before the switch.
        assert sink.flipped_at is not None and flipped[0] >= 3, summary
        assert flipped[1] == 0, summary  # refreshing ahead of expiry: no request met a dead token
        assert unauthorized >= 1 and stats.token_requests > flipped[0], summary  # the 401 path ran, and healed
        # One token request serves every request that met the dead token (plus the one refresh that
        # may have been scheduled before the endpoint started lying).
        assert stats.token_requests - flipped[0] <= unauthorized + 1, summary
        assert len(sim.issued_tokens()) == stats.token_requests
        assert sink_differences(truth, sink) == [], summary
        assert_no_worker_left()


def test_a_token_endpoint_down_18_seconds_of_every_20_is_waited_through_and_the_sync_ends_equal():
    # The simulator's clock moves on one second with each POST /token, and on nothing else: the
    # outage passes by token requests, whatever the machine's speed. It starts at a multiple of 20,
    # so the very first token waits out a whole down period (18 answers of 503). Tokens announced for
    # a second live five of the simulator's seconds: every refresh after that meets the outage too,
    # and the server may refuse a token that its client still holds while it waits.
    clock = FakeClock(2_000_000_000.0)
    config = sim_config(records=600, token_ttl_seconds=5.0, token_expires_in=1, token_outage=(18.0, 20.0),
                        latency=0.02, seed=24)
    with SimulatorThread(config, clock=clock) as sim:
        sim.on_token_request = lambda: clock.advance(1.0)
        sink = RecordingSink()
        settings = settings_for(sim, oauth=True, max_records_per_page="20", max_concurrency="2")
        outcome = call_within(120, run_sync, settings, None, sink, tuning=FAST)
        stats = sim.stats
        summary = (f"OAuth sync of {outcome.seconds:.1f} s through a token endpoint down 18 s of every 20: "
                   f"{stats.token_requests} token requests, {stats.by_status.get(503, 0)} answered 503, "
                   f"{stats.by_status.get(401, 0)} API requests answered 401, {stats.requests} API requests")
        print(summary)
        assert outcome.error is None, f"{summary}: {outcome.error!r}"
        assert sink_differences(truths(sim), sink) == [], summary
        assert stats.by_status.get(503, 0) >= 18, summary  # the first token alone waited out a down period
        assert_no_worker_left()
