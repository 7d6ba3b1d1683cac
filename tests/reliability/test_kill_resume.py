"""Through the SDK's own runner (`fivetran debug`, in a subprocess): runs killed with SIGKILL at
random (seeded) moments once a checkpoint saved progress, a SIGTERM, and update() raising mid-run.
After each kill the saved state claims only what the warehouse holds; each rerun leaves the
warehouse equal to the source; the process ends promptly; no secret reaches any output.

Each moment is a count, not a delay: the simulator holds one stream's requests from a random page of
its pass on (`sim.hold_after`), so the run cannot end before the test acts, on any machine."""

from __future__ import annotations

import concurrent.futures
import math
import random
import re
import signal

import pytest

from tests.reliability.helpers import claimed_intervals, configuration, sim_config, updated_second
from tests.reliability.sdk_checks import (
    PROMPT_EXIT_SECONDS,
    SESSION_SCAN,
    assert_no_secrets,
    assert_prompt_exit,
    claims_delivered,
    equal_to_source,
)
from tests.sdk_harness import checkpoint_states, held_and_saved, make_project, run_debug, saved_progress, saved_state
from xurrent_async.simulator import COLLECTIONS, REMOVE, FaultConfig, SimulatorThread, SystemClock
from xurrent_async.state import from_iso

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
RUN_TIMEOUT = 90  # seconds; a run that takes longer is a hang
CHECKPOINT = "checkpoint recorded"
# A held request must not time out before the test acts: the longest timeout allowed.
HELD = {"request_timeout_seconds": "300"}


# Runs of a few seconds, in many windows: checkpoints every half second (instead of every 5 s or
# 5,000 rows) give each run several, so the kill lands mid-pass with windows of it recorded.
RECORDS = {"organizations": 200, "products": 800, "projects": 800}
TUNING = {"checkpoint_seconds": 0.5}
CHANGED = {"organizations": 20, "products": 250, "projects": 250}  # per cycle after the first
PAGE, IN_FLIGHT = 20, 2  # records per page and requests in flight in the kill chain's runs


def _new_work(sim, clock: SystemClock, project, rng: random.Random) -> None:
    """Changes for the next cycle: the server's clock jumps ahead 1,000 s and CHANGED records of
    each stream get an updated_at spread over [cursor, now), so the next incremental pass is split
    into windows and lasts a while."""
    clock.skew_seconds += 1_000
    now = int(clock.now())
    streams = saved_state(project)["streams"]
    for table in COLLECTIONS:
        cursor = from_iso(streams[table]["cursor"])
        for record_id in rng.sample(sim.ids(table), CHANGED[table]):
            sim.touch(table, [record_id], at=rng.randrange(cursor, now - 2))


def _kill_chain(root, seed: int, kills_wanted: int) -> list[str]:
    """One project and one simulator: `kills_wanted` runs killed at random moments, each followed
    by a rerun that must end equal to the source. Returns a line per cycle for the report."""
    rng = random.Random(seed)
    clock = SystemClock()
    with SimulatorThread(sim_config(records=RECORDS, latency=0.05, seed=seed), clock=clock) as sim:
        project = make_project(root, copy_package=True, tuning=TUNING)
        # Small pages and two requests in flight: each run lasts a few seconds, in many windows.
        config = configuration(sim, max_records_per_page=str(PAGE), max_concurrency=str(IN_FLIGHT))
        report = []
        for cycle in range(1, kills_wanted + 1):
            if cycle > 1:
                _new_work(sim, clock, project, rng)
            # The pages each stream's pass needs at least: all of it at first, then the changes.
            needs = {t: math.ceil((RECORDS if cycle == 1 else CHANGED)[t] / PAGE) for t in COLLECTIONS}
            # Held from its page n on, the stream still has pages to ask for beyond those in flight
            # then (which are answered): one of its requests will be held.
            held = rng.choice([t for t in COLLECTIONS if needs[t] > IN_FLIGHT])
            page = rng.randint(1, needs[held] - IN_FLIGHT)
            before = saved_state(project)
            with sim.hold_after(page, held) as hold:
                run = run_debug(project, {**config, **HELD}, kill_when=held_and_saved(hold, before),
                                timeout=RUN_TIMEOUT)
            assert_no_secrets(project, run, sim)
            assert run.killed and run.returncode == -signal.SIGKILL, run.output[-3000:]
            checkpoints = run.output.count(CHECKPOINT)
            problems, claimed = claims_delivered(sim, project)
            assert problems == [], f"seed {seed} cycle {cycle}: the state claims undelivered records:\n" + \
                "\n".join(problems)

            rerun = run_debug(project, config, timeout=RUN_TIMEOUT)
            assert rerun.returncode == 0, rerun.output[-3000:]
            lag = assert_prompt_exit(rerun, "SYNC SUCCEEDED")
            assert_no_secrets(project, rerun, sim)
            problems, compared = equal_to_source(sim, project)
            assert problems == [], f"seed {seed} cycle {cycle}: after the rerun:\n" + "\n".join(problems)
            report.append(f"seed {seed} cycle {cycle}: SIGKILL {run.killed_at:.1f} s in, {held} held from its page "
                          f"{page} of at least {needs[held]}, {checkpoints} checkpoint(s) saved, {claimed} records "
                          f"claimed and found; rerun {rerun.seconds:.1f} s, exited {lag:.2f} s after SYNC SUCCEEDED; "
                          f"{compared} records equal")
        return report


def test_ten_sigkills_at_random_moments_then_reruns_end_equal_to_the_source(tmp_path):
    # Two independent chains of five, side by side: the runs spend most of their time starting
    # Python or waiting on the simulator's latency, so two at once fit on two cores.
    scanned_before = (SESSION_SCAN.files, SESSION_SCAN.varchar_values)
    with concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="kill-chain") as pool:
        chains = [pool.submit(_kill_chain, tmp_path / f"chain-{seed}", seed, 5) for seed in (41, 42)]
        reports = [line for chain in chains for line in chain.result(timeout=600)]
    print("\n".join(reports))
    print(f"secret scan so far: {SESSION_SCAN.texts} texts, {SESSION_SCAN.files} files, "
          f"{SESSION_SCAN.varchar_values} VARCHAR values, {len(SESSION_SCAN.leaks)} leaks")
    assert sum("SIGKILL" in line for line in reports) == 10
    # Every run was scanned for the token (assert_no_secrets), and the scans did read files and
    # warehouse values: an empty scan would pass vacuously.
    assert SESSION_SCAN.files > scanned_before[0] and SESSION_SCAN.varchar_values > scanned_before[1]


def test_sigterm_mid_sync_then_a_rerun_ends_equal_to_the_source(tmp_path):
    with SimulatorThread(sim_config(records=800, latency=0.03, seed=42)) as sim:
        project = make_project(tmp_path, copy_package=True, tuning=TUNING)
        config = configuration(sim, max_records_per_page=str(PAGE), max_concurrency="4")
        # products is held from the 10th of its 40 pages: the signal comes mid-sync, after progress.
        with sim.hold_after(10, "products") as hold:
            run = run_debug(project, {**config, **HELD}, kill_when=held_and_saved(hold), kill_signal=signal.SIGTERM,
                            timeout=RUN_TIMEOUT)
        assert run.killed and run.returncode != 0, run.output[-3000:]
        assert run.killed_at is not None and run.seconds - run.killed_at < PROMPT_EXIT_SECONDS, \
            "SIGTERM did not end the run promptly"
        assert_no_secrets(project, run, sim)
        problems, claimed = claims_delivered(sim, project)
        assert problems == [], "\n".join(problems)
        rerun = run_debug(project, config, timeout=RUN_TIMEOUT)
        assert rerun.returncode == 0, rerun.output[-3000:]
        assert_prompt_exit(rerun, "SYNC SUCCEEDED")
        assert_no_secrets(project, rerun, sim)
        problems, compared = equal_to_source(sim, project)
        print(f"SIGTERM: exit code {run.returncode} {run.seconds - run.killed_at:.2f} s after the signal; "
              f"{claimed} claimed records found; rerun {rerun.seconds:.1f} s; {compared} records equal")
        assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("cause", ["persistent-5xx-mid-run", "record-without-id"])
def test_update_raising_mid_run_fails_clearly_then_a_rerun_ends_equal(tmp_path, cause):
    with SimulatorThread(sim_config(records=800, latency=0.03, seed=43)) as sim:
        project = make_project(tmp_path, copy_package=True, tuning=TUNING)
        config = configuration(sim, max_records_per_page=str(PAGE), max_concurrency="4", retry_attempts="1")
        broken = broken_second = None
        flipped: list[dict] = []
        # persistent-5xx: products is held from the 10th of its 40 pages, so the run cannot end
        # before the switch; once a checkpoint saved progress, every request fails, the held first.
        hold = sim.hold_after(10, "products")

        def on_poll(lines: list[str]) -> None:
            if cause == "persistent-5xx-mid-run" and not flipped and hold.holding.is_set():
                progress = [state for state in checkpoint_states(lines) if saved_progress(state)]
                if progress:
                    sim.config.faults = FaultConfig(html_5xx=1.0)
                    flipped.append(progress[0])
                    hold.release()

        if cause == "record-without-id":
            hold.release()  # it fails on its own: nothing to wait for
            products = sim.truth("products")  # the newest product: read late, after other checkpoints
            broken = max(products, key=lambda rid: (updated_second(products[rid]), rid))
            broken_second = updated_second(products[broken])
            sim.corrupt("products", broken, {"id": REMOVE})
        with hold:
            run = run_debug(project, {**config, **HELD}, on_poll=on_poll, timeout=RUN_TIMEOUT)
        assert flipped or broken is not None, f"the faults were never switched on:\n{run.output[-3000:]}"
        expected = (r"HTTP 50[23] from Xurrent for /v1/(organizations|products|projects)" if broken is None
                    else "products: a record has no usable id")
        assert run.returncode == 1, run.output[-3000:]
        assert re.search(expected, run.output), run.output[-3000:]
        lag = assert_prompt_exit(run, "SYNC FAILED")
        assert_no_secrets(project, run, sim)
        problems, claimed = claims_delivered(sim, project)
        assert problems == [], "\n".join(problems)
        if broken_second is not None:
            stream = saved_state(project).get("streams", {}).get("products") or {}
            assert not any(a <= broken_second < b for a, b in claimed_intervals(stream)), stream

        sim.config.faults = FaultConfig()
        if broken is not None:
            sim.corrupt("products", broken, None)
        rerun = run_debug(project, config, timeout=RUN_TIMEOUT)
        assert rerun.returncode == 0, rerun.output[-3000:]
        assert_prompt_exit(rerun, "SYNC SUCCEEDED")
        assert_no_secrets(project, rerun, sim)
        problems, compared = equal_to_source(sim, project)
        crash_reports = list((project / "crash-reports").glob("*")) if (project / "crash-reports").exists() else []
        print(f"{cause}: failed in {run.seconds:.1f} s (exit {lag:.2f} s after SYNC FAILED, {len(crash_reports)} crash "
              f"report(s)), {claimed} claimed records found; rerun {rerun.seconds:.1f} s; {compared} records equal")
        assert problems == [], "\n".join(problems)
