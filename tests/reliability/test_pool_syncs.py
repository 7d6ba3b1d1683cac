"""Whole syncs through a pool of credentials, against a simulator whose limits belong to users:
every credential carries its share, a 429 or a refusal touches only its credential, two tokens of
one user are noticed and do not run into their shared limits, OAuth clients each keep their own
tokens. No credential's value reaches the log."""

from __future__ import annotations

import logging

import pytest

from tests.fakes import RecordingSink
from tests.reliability.helpers import (
    ACCOUNT,
    FAST,
    assert_no_worker_left,
    call_within,
    sim_config,
    sink_differences,
    truths,
)
from xurrent_async.settings import parse_settings
from xurrent_async.simulator import FaultConfig, SimulatorThread
from xurrent_async.sync import run_sync
from xurrent_async.tuning import Tuning

pytestmark = pytest.mark.reliability
TOKENS = ("xpat-Pool0ne-4e7d1c9a0b", "xpat-PoolTw0-8f2a6b3e1d", "xpat-PoolThr33-c5d0e9f7a2")
CLIENTS = {"pool-app-one": "xcs-PoolSecret1-7a6b5c", "pool-app-two": "xcs-PoolSecret2-1d2e3f"}
RECORDS = {"organizations": 300, "products": 900, "projects": 900}
BURST = 6  # per user and 2 s: scaled down, so that the limits, not the machine, set the pace


def settings(sim, credentials: dict[str, str], **extra: str):
    config = {"account_id": ACCOUNT, "base_url": sim.base_url, "burst_limit": str(BURST),
              "rate_limit_per_hour": "1000000", "max_records_per_page": "25", "max_concurrency": "8", **credentials}
    config.update(extra)
    return parse_settings(config)[0]


def real_429s(sim) -> int:
    """429s the limits gave (the injected ones are faults, not the connector overrunning a limit)."""
    return sim.stats.rate_limited - sim.stats.faults.get("rate_429", 0)


def no_secret_in(text: str, sim) -> None:
    for secret in (*TOKENS, *CLIENTS.values(), *sim.issued_tokens()):
        assert secret not in text


def test_three_users_tokens_share_the_work_through_faults_with_no_429_from_the_limits(caplog):
    caplog.set_level(logging.INFO)
    faults = FaultConfig(html_5xx=0.05, reset=0.02, truncated_json=0.02, rate_429=0.03, retry_after_seconds=6)
    config = sim_config(records=RECORDS, tokens=TOKENS, burst_limit=BURST, latency=0.02, faults=faults, seed=7)
    with SimulatorThread(config) as sim:
        sink = RecordingSink()
        outcome = call_within(120, run_sync, settings(sim, {"oauth_token": ",".join(TOKENS)}, retry_attempts="6"),
                              None, sink, tuning=FAST)
        assert outcome.error is None, repr(outcome.error)
        assert sink_differences(truths(sim), sink) == []
        by_credential = sim.stats.requests_by_credential
        total = sum(by_credential.values())
        print(f"three users: {total} requests, {by_credential and sorted(by_credential.values())}, "
              f"{real_429s(sim)} real and {sim.stats.faults.get('rate_429', 0)} injected 429s, {outcome.seconds:.1f} s")
        assert set(by_credential) == set(TOKENS)
        assert all(n >= total / 6 for n in by_credential.values())  # each carried a real share
        assert real_429s(sim) == 0
    pauses = [r.getMessage() for r in caplog.records if "429" in r.getMessage() and "requests wait" in r.getMessage()]
    assert pauses and all(" on token " in line for line in pauses)  # a 6 s pause is said, by position
    no_secret_in(caplog.text, sim)
    assert_no_worker_left()


def test_a_refused_token_is_named_by_position_and_the_sync_goes_on_with_the_others(caplog):
    caplog.set_level(logging.INFO)
    config = sim_config(records=RECORDS, tokens=(TOKENS[0], TOKENS[2]), burst_limit=None, latency=0.005)
    with SimulatorThread(config) as sim:
        sink = RecordingSink()
        outcome = call_within(60, run_sync, settings(sim, {"oauth_token": ",".join(TOKENS)}, burst_limit="10000"),
                              None, sink, tuning=FAST)
        assert outcome.error is None, repr(outcome.error)
        assert sink_differences(truths(sim), sink) == []
        # Refused for the requests already in flight on it, then never sent again.
        assert 1 <= sim.stats.by_status.get(401, 0) <= 8
    refused = [r.getMessage() for r in caplog.records if "was refused" in r.getMessage()]
    assert refused == ["Token 2 was refused (Unauthorized): the sync goes on with token 1 and token 3"]
    no_secret_in(caplog.text, sim)


def test_when_every_token_is_refused_the_sync_fails_naming_each_by_position():
    with SimulatorThread(sim_config(records=RECORDS, tokens=("someone-else",))) as sim:
        outcome = call_within(60, run_sync, settings(sim, {"oauth_token": ",".join(TOKENS)}, burst_limit="10000"),
                              None, RecordingSink(), tuning=FAST)
        assert outcome.error is not None
        text = str(outcome.error)
        assert "all 3 credentials were refused (token 1: Unauthorized; token 2: Unauthorized; token 3: " in text
        assert "personal access tokens were refused" in text
        no_secret_in(text, sim)


@pytest.mark.parametrize("burst_scope", ["user", "token"])
def test_two_tokens_of_one_user_are_noticed_and_do_not_run_into_the_users_limits(caplog, burst_scope):
    caplog.set_level(logging.INFO)
    # The real burst limit, and the "hourly" quota scaled to 25 per 4 s (below the burst limit's
    # 10/s): it runs out several times during the sync.
    hour, quota, burst = 4.0, 25, 20
    config = sim_config(records=RECORDS, tokens=TOKENS[:2], users={"alice": TOKENS[:2]}, burst_limit=burst,
                        hourly_limit=quota, hour_seconds=hour, latency=0.02, burst_scope=burst_scope)
    with SimulatorThread(config) as sim:
        sink = RecordingSink()
        outcome = call_within(120, run_sync, settings(sim, {"oauth_token": ",".join(TOKENS[:2])},
                                                      rate_limit_per_hour=str(quota), burst_limit=str(burst)),
                              None, sink,
                              tuning=Tuning(backoff_base_seconds=0.01, backoff_max_seconds=0.05,
                                            checkpoint_seconds=0.2, hour_seconds=hour))
        assert outcome.error is None, repr(outcome.error)
        assert sink_differences(truths(sim), sink) == []
        requests = sim.stats.requests
        print(f"one user, two tokens, burst per {burst_scope}: {requests} requests, {sim.stats.rate_limited} × 429, "
              f"by token {sorted(sim.stats.requests_by_credential.values())}, {outcome.seconds:.1f} s")
        assert requests >= 3 * quota  # the quota was spent and renewed more than twice
        # Before the headers tell, both tokens may meet the user's limits once or twice; after, never.
        assert sim.stats.rate_limited <= burst
    said = [r.getMessage() for r in caplog.records if "draw on one quota" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("Token 1 and token 2 draw on one quota")
    no_secret_in(caplog.text, sim)


def test_oauth_clients_of_two_applications_each_fetch_and_refresh_their_own_tokens():
    config = sim_config(records=RECORDS, tokens=(), oauth_clients=CLIENTS, burst_limit=BURST, latency=0.02,
                        token_ttl_seconds=3.0)
    with SimulatorThread(config) as sim:
        sink = RecordingSink()
        credentials = {"client_id": ",".join(CLIENTS), "client_secret": ",".join(CLIENTS.values()),
                       "oauth_token_url": sim.token_url}
        outcome = call_within(120, run_sync, settings(sim, credentials), None, sink, tuning=FAST)
        assert outcome.error is None, repr(outcome.error)
        assert sink_differences(truths(sim), sink) == []
        by_client = sim.stats.requests_by_credential
        assert set(by_client) == set(CLIENTS) and min(by_client.values()) >= sum(by_client.values()) / 4
        # Each client refreshed ahead of its tokens' expiry: no request met a dead token.
        assert sim.stats.by_status.get(401) is None
        assert sim.stats.token_requests >= 2 * max(2, int(outcome.seconds // 3))
