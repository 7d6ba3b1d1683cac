"""Through the SDK's own runner: a bad configuration, a refused token, an unreachable host, Ctrl-C
and another account's state each end the run with one message that says what is wrong and what to
do, and no traceback: no frame of xurrent_async/, no asyncio "Task exception was never retrieved",
no crash report. (An unexpected error keeps its traceback: test_kill_resume's update() failures.)"""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import pytest

from tests.reliability.helpers import TOKEN, configuration, left_to_read, sim_config, updated_second
from tests.reliability.sdk_checks import assert_no_secrets, assert_prompt_exit, claims_delivered, equal_to_source
from tests.sdk_harness import Run, checkpoint_states, make_project, run_debug, saved_state, warehouse
from xurrent_async.simulator import COLLECTIONS, SimulatorThread

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
RUN_TIMEOUT = 120


def assert_one_clean_message(run: Run, project: Path, message: str, *also: str) -> str:
    """The run failed with `message` said once, the hints in `also`, and nothing else of ours."""
    out = run.output
    assert run.returncode == 1, out[-3000:]
    assert out.count(message) == 1, out[-3000:]
    for text in also:
        assert text in out, f"{text!r} missing:\n{out[-3000:]}"
    assert "Traceback" not in out, out[-3000:]
    assert "xurrent_async/" not in out, out[-3000:]
    assert "never retrieved" not in out, out[-3000:]
    assert not (project / "crash-reports").exists(), "a crash report for an expected failure"
    assert_prompt_exit(run, "SYNC FAILED")
    return out


@pytest.fixture(scope="module")
def sim():
    with SimulatorThread(sim_config(records=300, seed=71)) as simulator:
        yield simulator


def test_a_bad_configuration_says_every_problem_and_the_did_you_mean_hint_once(tmp_path, sim):
    project = make_project(tmp_path, copy_package=True)
    sim.reset_stats()
    run = run_debug(project, {"oauth_tokn": TOKEN, "account_id": "", "base_url": sim.base_url}, timeout=RUN_TIMEOUT)
    assert_one_clean_message(run, project, "Invalid configuration (2 problem(s))",
                             'configuration key "oauth_tokn" is not known and is ignored (did you mean "oauth_token"?)',
                             "fix the configuration and run the sync again")
    assert TOKEN not in run.output and sim.stats.requests == 0


def test_a_refused_token_says_so_once_even_when_every_stream_meets_it(tmp_path, sim):
    project = make_project(tmp_path, copy_package=True)
    run = run_debug(project, configuration(sim, oauth_token="xpat-Wr0ng-0000000000000000"), timeout=RUN_TIMEOUT)
    assert_one_clean_message(run, project, "the personal access token was refused",
                             "HTTP 401 from Xurrent", "fix the credentials, then rerun to resume")
    assert "xpat-Wr0ng" not in run.output


def test_an_unreachable_host_says_which_and_what_to_check(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    project = make_project(tmp_path, copy_package=True)
    config = {"oauth_token": TOKEN, "account_id": "sim-account", "base_url": f"http://127.0.0.1:{port}/v1",
              "retry_attempts": "1"}
    run = run_debug(project, config, timeout=RUN_TIMEOUT)
    assert_one_clean_message(run, project, "Could not get an answer from 127.0.0.1",
                             "connection failed", "rerun to resume")


def test_ctrl_c_saves_what_was_read_says_rerun_to_resume_and_the_rerun_ends_equal(tmp_path):
    with SimulatorThread(sim_config(records={"products": 3_000}, seed=72)) as sim:
        seconds = {rid: updated_second(r) for rid, r in sim.truth("products").items()}
        project = make_project(tmp_path, copy_package=True)
        config = configuration(sim, max_concurrency="1")
        # 20 pages, then the simulator holds the sync where it is: the interrupt cannot come late.
        # The interrupt comes once a checkpoint has saved part of products (the empty streams'
        # passes are checkpointed as they end, before any page of products may have arrived).
        def products_saved(lines: list[str]) -> bool:
            return any(((state.get("streams") or {}).get("products", {}).get("pass") or {}).get("done")
                       for state in checkpoint_states(lines))

        with sim.hold_after(20, "products"):
            run = run_debug(project, config, kill_when=products_saved, kill_signal=signal.SIGINT,
                            timeout=RUN_TIMEOUT)
        assert run.killed
        assert_one_clean_message(run, project, "Interrupted (Ctrl-C)", "rerun to resume")
        assert_no_secrets(project, run, sim)
        problems, _ = claims_delivered(sim, project)
        assert problems == [], "\n".join(problems)
        left, open_windows = left_to_read(saved_state(project), {"products": seconds})
        assert left < 3_000  # the read part of the window is saved

        sim.reset_stats()
        rerun = run_debug(project, config, timeout=RUN_TIMEOUT)
        assert rerun.returncode == 0, rerun.output[-3000:]
        assert sim.stats.records_served <= left + 100 * open_windows
        problems, _ = equal_to_source(sim, project)
        assert problems == [], "\n".join(problems)


def test_a_state_of_another_account_fails_before_any_request_and_touches_nothing(tmp_path, sim):
    project = make_project(tmp_path, copy_package=True)
    first = run_debug(project, configuration(sim), timeout=RUN_TIMEOUT)
    assert first.returncode == 0, first.output[-3000:]
    state_file = project / "files" / "state.json"
    state_before, tables_before = state_file.read_bytes(), {t: warehouse(project, t) for t in COLLECTIONS}
    warehouse_before = (project / "files" / "warehouse.db").read_bytes()

    sim.reset_stats()
    run = run_debug(project, configuration(sim, account_id="another-account"), timeout=RUN_TIMEOUT)
    assert_one_clean_message(
        run, project,
        "The saved state belongs to account 'sim-account' at 127.0.0.1, but the configuration names account "
        "'another-account' at 127.0.0.1",
        "`fivetran reset --yes`", "full re-sync of the connection")
    assert sim.stats.requests == 0 and sim.stats.token_requests == 0
    assert state_file.read_bytes() == state_before
    assert {t: warehouse(project, t) for t in COLLECTIONS} == tables_before
    assert (project / "files" / "warehouse.db").read_bytes() == warehouse_before
