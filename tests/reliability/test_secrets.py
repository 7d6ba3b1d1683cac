"""Secrets stay secret (the "Secrets stay secret" invariant, README: Architecture) in runs through the
SDK's runner with OAuth client credentials: the client secret, the access tokens the token endpoint
handed out and any `Bearer ` value never appear in stdout/stderr, crash reports, files/state.json or
the warehouse. (The personal-token runs of test_kill_resume.py are scanned the same way, run by
run.)"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.reliability.helpers import CLIENT_SECRET, TOKEN, SecretScan, configuration, scan_project, sim_config
from tests.reliability.sdk_checks import assert_no_secrets, assert_prompt_exit, equal_to_source
from tests.sdk_harness import Run, make_project, run_debug
from xurrent_async.simulator import SimulatorThread

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
RUN_TIMEOUT = 90


def test_an_oauth_sync_with_expiring_tokens_succeeds_and_leaks_nothing(tmp_path):
    # 2-second tokens, refreshed at half their life, in a run that lasts several of them by
    # construction: 1,800 records at 20 a page with 2 in flight are 45 rounds of 100 ms latency at
    # least (4.5 s, however fast the machine), so the connector fetches several tokens.
    config = sim_config(records=600, latency=0.1, token_ttl_seconds=2.0, seed=51)
    with SimulatorThread(config) as sim:
        project = make_project(tmp_path, copy_package=True)
        run = run_debug(project, configuration(sim, oauth=True, max_records_per_page="20", max_concurrency="2"),
                        timeout=RUN_TIMEOUT)
        assert run.returncode == 0, run.output[-3000:]
        lag = assert_prompt_exit(run, "SYNC SUCCEEDED")
        scan = assert_no_secrets(project, run, sim)
        problems, compared = equal_to_source(sim, project)
        tokens = sim.issued_tokens()
        print(f"OAuth SDK run: {run.seconds:.1f} s, {sim.stats.token_requests} token requests, exit {lag:.2f} s after "
              f"SYNC SUCCEEDED; scanned {scan.texts} texts, {scan.files} files, {scan.varchar_values} VARCHAR values "
              f"for the client secret, {len(tokens)} access tokens and 'Bearer '; {compared} records equal")
        assert problems == [], "\n".join(problems)
        assert sim.stats.token_requests > 2 and len(tokens) == sim.stats.token_requests
        assert scan.texts and scan.files and scan.varchar_values, "an empty scan would pass vacuously"


@dataclass
class FailedOAuthRun:
    project: Path
    run: Run
    access_tokens: list[str]
    forbidden_at: str


@pytest.fixture(scope="module")
def failed_oauth_run(tmp_path_factory) -> FailedOAuthRun:
    """One OAuth run through the SDK whose token loses access to products and projects after the
    first checkpoint: a 403 makes update() raise, and the SDK writes a crash report. (Checkpoints
    every half second, instead of every 5 s or 5,000 rows: the first comes mid-run.) The simulator
    holds every request from the 5th of the run's 90 pages on, so the run cannot end before the
    switch; the held requests meet it when released."""
    root = tmp_path_factory.mktemp("oauth-403")
    with SimulatorThread(sim_config(records=600, latency=0.05, seed=52)) as sim:
        project = make_project(root, copy_package=True, tuning={"checkpoint_seconds": 0.5})
        flipped: list[str] = []
        with sim.hold_after(5) as hold:

            def on_poll(lines: list[str]) -> None:
                at = next((line for line in lines if "checkpoint recorded" in line), None)
                if at is not None and hold.holding.is_set() and not flipped:
                    sim.config.forbidden = ("products", "projects")
                    flipped.append(at)
                    hold.release()

            run = run_debug(project, configuration(sim, oauth=True, max_records_per_page="20", max_concurrency="2",
                                                   request_timeout_seconds="300"),
                            on_poll=on_poll, timeout=RUN_TIMEOUT)
        return FailedOAuthRun(project, run, sim.issued_tokens(), flipped[0] if flipped else "")


def test_an_oauth_sync_that_loses_access_fails_clearly_without_leaking_its_credentials(failed_oauth_run):
    run, project = failed_oauth_run.run, failed_oauth_run.project
    assert failed_oauth_run.forbidden_at, "the run never reached a checkpoint"
    assert run.returncode == 1, run.output[-3000:]
    assert re.search(r"HTTP 403 from Xurrent for /v1/(products|projects): You are not authorized", run.output)
    lag = assert_prompt_exit(run, "SYNC FAILED")
    # An expected failure ends with its message alone: no traceback, no crash report.
    assert "Traceback" not in run.output and not (project / "crash-reports").exists()
    # The configured secrets, the access tokens and any Authorization header: nowhere.
    scan = scan_project(SecretScan(), project, run.output,
                        [TOKEN, CLIENT_SECRET, "Bearer ", *failed_oauth_run.access_tokens])
    print(f"OAuth 403 run: failed in {run.seconds:.1f} s, exit {lag:.2f} s after SYNC FAILED; scanned "
          f"{scan.texts} texts, {scan.files} files, {scan.varchar_values} VARCHAR values")
    assert not scan.leaks, [(leak.where, leak.excerpt) for leak in scan.leaks]


def test_an_unexpected_error_keeps_its_traceback_and_its_crash_report_leaks_no_credential(tmp_path):
    """A bug (planted: a checkpoint_rows that is text) is not an expected failure: the SDK prints
    its whole traceback and writes a crash report with every frame's local variables, for a bug
    report. Neither holds the client secret or an access token."""
    with SimulatorThread(sim_config(records=600, latency=0.05, seed=53)) as sim:
        project = make_project(tmp_path, copy_package=True, tuning={"checkpoint_rows": "5000"})
        run = run_debug(project, configuration(sim, oauth=True, max_records_per_page="20", max_concurrency="2"),
                        timeout=RUN_TIMEOUT)
        tokens = sim.issued_tokens()
    assert run.returncode == 1, run.output[-3000:]
    assert "Traceback (most recent call last)" in run.output and "xurrent_async/sync.py" in run.output
    assert "TypeError" in run.output
    crash_reports = list((project / "crash-reports").glob("*"))
    assert crash_reports, "the SDK wrote no crash report: nothing was scanned there"
    assert tokens, "no access token was issued"
    scan = scan_project(SecretScan(), project, run.output, [TOKEN, CLIENT_SECRET, "Bearer ", *tokens])
    assert scan.files >= len(crash_reports)
    assert not scan.leaks, [(leak.where, leak.excerpt) for leak in scan.leaks]
