"""Through the SDK's own runner: a SIGKILL in the middle of a pass that is one window of 10,000
records. The checkpoints recorded the read part of the open window, so the rerun reads the other
half and at most a page more per open window, not the whole window again; the resume line says how
many records are left; the warehouse ends equal to the source.

The moment is an event, never a time: the simulator serves the first half of the pages and then
holds every further request (the run cannot finish first), and the kill comes with the first
checkpoint line whose state records everything those pages could let it claim."""

from __future__ import annotations

import json
import signal

import pytest

from tests.reliability.helpers import configuration, left_to_read, sim_config, updated_second
from tests.reliability.sdk_checks import assert_no_secrets, claims_delivered, equal_to_source
from tests.sdk_harness import any_line, make_project, run_debug, saved_state
from xurrent_async.simulator import SimulatorThread
from xurrent_async.state import from_iso, to_iso

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
RECORDS = 10_000
PAGE = 100
CHECKPOINT = "checkpoint recorded: "
RUN_TIMEOUT = 300  # seconds; held requests never end, so a state that never records progress is a timeout


def test_a_sigkill_mid_window_costs_the_rerun_half_the_records_plus_at_most_a_page(tmp_path):
    with SimulatorThread(sim_config(records={"products": RECORDS}, seed=61)) as sim:
        seconds = {rid: updated_second(r) for rid, r in sim.truth("products").items()}
        in_order = sorted(seconds.items(), key=lambda item: (item[1], item[0]))
        half = RECORDS // 2
        # The first half of the pages ends in this second: everything before it can be claimed.
        last_second = in_order[half - 1][1]
        claimable = sum(1 for s in seconds.values() if s < last_second)
        project = make_project(tmp_path)
        # One request in flight: the products pass is one window, read page after page in
        # updated_at, id order (no split, no idle slot to lend a part of it to).
        config = configuration(sim, max_concurrency="1")

        def records_everything_served(line: str) -> bool:
            if CHECKPOINT not in line:
                return False
            state = json.loads(line.split(CHECKPOINT, 1)[1])
            left, _ = left_to_read(state, {"products": seconds})
            return RECORDS - left >= claimable

        with sim.hold_after(half // PAGE, "products"):
            killed = run_debug(project, config, kill_when=any_line(records_everything_served), timeout=RUN_TIMEOUT)
        assert killed.killed and killed.returncode == -signal.SIGKILL, killed.output[-3000:]
        assert sim.stats.records_served == half  # the kill came in the middle, as planned
        assert_no_secrets(project, killed, sim)
        problems, claimed = claims_delivered(sim, project)
        assert problems == [], "the state claims undelivered records:\n" + "\n".join(problems)
        state = saved_state(project)
        products = state["streams"]["products"]
        assert products["cursor"] is None and len(products["pass"]["done"]) == 1, products
        assert products["pass"]["done"][0][1] == to_iso(last_second)
        left, open_windows = left_to_read(state, {"products": seconds})
        assert open_windows == 1

        sim.reset_stats()
        rerun = run_debug(project, config, timeout=RUN_TIMEOUT)
        assert rerun.returncode == 0, rerun.output[-3000:]
        assert_no_secrets(project, rerun, sim)
        re_read = sim.stats.records_served
        upper = from_iso(products["pass"]["upper"])
        resume_line = (f"products: resuming the pass {products['pass']['lower']} → {to_iso(upper)}: "
                       f"{left:,} records left to read in 1 window(s)")
        print(f"SIGKILL after {half:,} of {RECORDS:,} records served ({killed.seconds:.1f} s in): the state claims "
              f"{claimed:,}; the rerun read {re_read:,} records ({re_read - half:+,} against the unread half, "
              f"bound {half + PAGE * open_windows:,}) in {sim.stats.pages_served} pages; {rerun.seconds:.1f} s; "
              f"its log: {resume_line!r}")
        assert resume_line in rerun.output, rerun.output[-3000:]
        assert re_read == left
        assert re_read <= half + PAGE * open_windows
        problems, compared = equal_to_source(sim, project)
        assert problems == [], "\n".join(problems)
        assert compared == RECORDS
