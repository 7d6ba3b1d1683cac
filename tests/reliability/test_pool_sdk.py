"""Through the SDK's own runner (`fivetran debug`): three users' tokens, the burst limit scaled down,
faults, and a SIGKILL mid-sync (the simulator holds every request from the 40th page on, and the
kill comes once a checkpoint has saved progress: a moment by count, not by the clock). The rerun
ends equal to the source, every credential carried its share, the limits never answered 429, and
no token's value reaches the output or any file; the log names credentials by position."""

from __future__ import annotations

import signal
import time

import pytest

from tests.reliability.helpers import ACCOUNT, SecretScan, scan_project, sim_config
from tests.reliability.sdk_checks import assert_prompt_exit, claims_delivered, equal_to_source
from tests.sdk_harness import held_and_saved, make_project, run_debug
from xurrent_async.simulator import FaultConfig, SimulatorThread

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
TOKENS = ("xpat-SdkPool1-3b9e0d7c2a", "xpat-SdkPool2-f61c8a4e0b", "xpat-SdkPool3-27d5b1f9ce")
RECORDS = {"organizations": 300, "products": 900, "projects": 900}
PER_PAGE, BURST = 25, 6  # 84 pages; 6 requests per 2 s per user: the limits set the pace, not the machine
TUNING = {"checkpoint_seconds": 0.5, "backoff_base_seconds": 0.05, "backoff_max_seconds": 0.2}
HELD_FROM_PAGE = 40  # of about 90: the simulator holds every request from then on, until released
FAULTS = FaultConfig(html_5xx=0.05, reset=0.02, rate_429=0.03, retry_after_seconds=6)


def scan(project, output: str) -> None:
    found = scan_project(SecretScan(), project, output, [*TOKENS, "Bearer "])
    assert not found.leaks, "; ".join(f"{leak.where}: …{leak.excerpt}…" for leak in found.leaks)


def test_three_users_tokens_through_faults_and_a_kill_end_equal_to_the_source(tmp_path):
    config = sim_config(records=RECORDS, tokens=TOKENS, burst_limit=BURST, latency=0.02, seed=16, faults=FAULTS)
    with SimulatorThread(config) as sim:
        project = make_project(tmp_path, copy_package=True, tuning=TUNING)
        settings = {"oauth_token": ",".join(TOKENS), "account_id": ACCOUNT, "base_url": sim.base_url,
                    "burst_limit": str(BURST), "rate_limit_per_hour": "1000000",
                    "max_records_per_page": str(PER_PAGE), "retry_attempts": "6", "request_timeout_seconds": "300"}
        # Killed once a request is held (the run cannot end first, however fast the machine) and a
        # checkpoint has saved progress.
        with sim.hold_after(HELD_FROM_PAGE) as hold:
            killed = run_debug(project, settings, kill_when=held_and_saved(hold), timeout=120)
        assert killed.killed and killed.returncode == -signal.SIGKILL, killed.output[-3000:]
        scan(project, killed.output)
        problems, claimed = claims_delivered(sim, project)
        assert problems == [], "\n".join(problems)
        assert claimed >= 1  # the kill came after progress was saved

        # The rerun starts once the killed run's last requests have left every user's burst window,
        # as a rerun by Fivetran would: one started sooner meets the windows as the killed process
        # left them, which no new process can know.
        time.sleep(max(0.0, sim.limiter.quiet_at(sim.limits()) - sim.clock.now()))
        sim.config.faults = FaultConfig(html_5xx=0.05, reset=0.02, truncated_json=0.02, rate_429=0.03,
                                        retry_after_seconds=6)
        rerun = run_debug(project, settings, timeout=120)
        assert rerun.returncode == 0, rerun.output[-3000:]
        assert_prompt_exit(rerun, "SYNC SUCCEEDED")
        scan(project, rerun.output)
        problems, compared = equal_to_source(sim, project)
        assert problems == [], "\n".join(problems)

        by_token = sim.stats.requests_by_credential
        total = sum(by_token.values())
        injected = sim.stats.faults.get("rate_429", 0)
        print(f"killed after {killed.seconds:.1f} s ({claimed} records claimed), rerun {rerun.seconds:.1f} s; "
              f"{compared} records equal; requests by token {sorted(by_token.values())} of {total}; "
              f"429s: {sim.stats.rate_limited - injected} from the limits, {injected} injected")
        assert set(by_token) == set(TOKENS) and min(by_token.values()) >= total / 6  # every credential used
        assert sim.stats.rate_limited == injected  # no 429 from the limits: no storm
    both = killed.output + rerun.output
    assert "3 personal access tokens" in both
    assert " on token " in both  # an injected 429's pause is said, naming its credential by position
