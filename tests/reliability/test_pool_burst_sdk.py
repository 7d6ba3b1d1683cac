"""Through the SDK's own runner (`fivetran debug`): three users' tokens against a simulator that counts
the burst limit per host (every user's requests from this machine in one window), each user also
spending 1 request/s of its hourly quota through another integration. The first sync finds the
shared window after a few 429s and paces every credential through it, the state keeps the finding,
and the next sync (a full re-read) starts paced by it: both end equal to the source, with 429s at
most 5 % of the requests and none in the second sync. The other integrations move every quota by
more than our requests explain, yet no two users are taken for one: every credential carries a
share. (How fast, against one credential, are the benchmark's `tokens-3-host` and `tokens-3-busy`.)"""

from __future__ import annotations

import json

import pytest

from tests.reliability.helpers import ACCOUNT, SecretScan, scan_project, sim_config
from tests.reliability.sdk_checks import assert_prompt_exit, equal_to_source
from tests.sdk_harness import make_project, run_debug, saved_state
from xurrent_async.simulator import SimulatorThread

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
TOKENS = ("xpat-HostBurst1-5e0c2d9a7f", "xpat-HostBurst2-a3b9f1e0c4", "xpat-HostBurst3-0d7e6c5b81")
RECORDS = {"organizations": 800, "products": 1100, "projects": 1100}
# 300 pages of 10; the real burst limit over a quarter of its window, so that the limit, not the
# machine, sets the pace (40 requests/s for the pool when it is shared) and the sync stays short.
PER_PAGE, BURST, BURST_SECONDS = 10, 20, 0.5
TUNING = {"checkpoint_seconds": 0.5, "backoff_base_seconds": 0.05, "backoff_max_seconds": 0.2,
          "burst_seconds": BURST_SECONDS}
FOUND = "The burst limit appears to be counted per host: 3 credentials share one window of 20 per 0.5 s"
QUOTA = 100_000  # an hour's: its headers tell each user's quota, which never binds here


def test_three_users_tokens_against_one_burst_window_per_host_find_it_keep_it_and_stay_within_it(tmp_path):
    config = sim_config(records=RECORDS, tokens=TOKENS, burst_limit=BURST, burst_seconds=BURST_SECONDS,
                        burst_scope="host", latency=0.02, latency_jitter=0.01, seed=23, hourly_limit=QUOTA,
                        other_integration_per_second=1.0)
    with SimulatorThread(config) as sim:
        project = make_project(tmp_path, copy_package=True, tuning=TUNING)
        settings = {"oauth_token": ",".join(TOKENS), "account_id": ACCOUNT, "base_url": sim.base_url,
                    "burst_limit": str(BURST), "rate_limit_per_hour": str(QUOTA),
                    "max_records_per_page": str(PER_PAGE)}
        first = run_debug(project, settings, timeout=120)
        assert first.returncode == 0, first.output[-3000:]
        assert_prompt_exit(first, "SYNC SUCCEEDED")
        problems, compared = equal_to_source(sim, project)
        assert problems == [], "\n".join(problems)
        requests, throttled = sim.stats.requests, sim.stats.rate_limited
        by_token = dict(sim.stats.requests_by_credential)
        found = [line for line in first.output.splitlines() if FOUND in line]
        memory = saved_state(project).get("burst")

        # The second sync re-reads everything: as many requests as the first, paced from the start.
        sim.reset_stats()
        sim.touch("products", sim.ids("products")[:30])
        second = run_debug(project, {**settings, "enable_incremental_sync": "false"}, timeout=120)
        assert second.returncode == 0, second.output[-3000:]
        problems, _ = equal_to_source(sim, project)
        assert problems == [], "\n".join(problems)
        print(f"first sync {first.seconds:.1f} s: {requests} requests, {throttled} × 429 "
              f"({throttled / requests:.1%}), by token {sorted(by_token.values())}; {compared} records equal; "
              f"second sync {second.seconds:.1f} s: {sim.stats.requests} requests, {sim.stats.rate_limited} × 429; "
              f"found: {found[0].split('(')[1].split(')')[0] if found else None}; state {json.dumps(memory)}")

        assert len(found) == 1, first.output[-3000:]
        assert throttled <= 0.05 * requests  # the detection's 429s included
        assert min(by_token.values()) >= requests / 6  # the quotas are still spread over the users
        assert memory is not None and memory["counted"] == "per host"
        assert "an earlier sync found it" in second.output  # started paced by the state
        assert sim.stats.requests >= 0.9 * requests and sim.stats.rate_limited == 0
        assert min(sim.stats.requests_by_credential.values()) >= sim.stats.requests / 6
    assert "draw on one quota" not in first.output + second.output  # other integrations are not our tokens
    for run in (first, second):
        found_leaks = scan_project(SecretScan(), project, run.output, [*TOKENS, "Bearer "])
        assert not found_leaks.leaks, "; ".join(f"{leak.where}: …{leak.excerpt}…" for leak in found_leaks.leaks)
