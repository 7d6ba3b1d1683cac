"""Through the SDK's own runner: a record cap that no header announces. The docs name
`X-Pagination-Throttled` for some collections only ("most notably" audit entries and notes); here a
capped walk just ends, short of its first page's `X-Pagination-Total-Entries`, and the connector
must take that for the cap. Crowded seconds above the cap sit on a split boundary and on the pass's
upper bound (the incremental pass's), pages fail now and then (retried: the count must not drift),
and every row of a full and an incremental sync equals the source."""

from __future__ import annotations

import random

import pytest

from tests.reliability.helpers import configuration, sim_config, updated_second
from tests.reliability.sdk_checks import assert_no_secrets, claims_delivered, equal_to_source
from tests.sdk_harness import make_project, run_debug
from xurrent_async.simulator import FakeClock, FaultConfig, SimulatorThread

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
CAP = 250
RECORDS = {"organizations": 2_000, "products": 1_200, "projects": 600}
RUN_TIMEOUT = 300


def test_through_the_sdk_a_cap_without_the_header_is_seen_in_the_count_and_nothing_is_lost(tmp_path):
    clock = FakeClock()
    config = sim_config(records=RECORDS, record_cap=CAP, throttled_header="none", seed=23,
                        faults=FaultConfig(html_5xx=0.1))
    with SimulatorThread(config, clock=clock) as sim:
        rng = random.Random(23)
        upper = int(clock.now())  # the Date of every response of the first sync
        organizations = sim.ids("organizations")
        oldest = min(updated_second(r) for r in sim.truth("organizations").values())
        crowds = rng.sample(organizations, 1_200)
        sim.set_updated_at("organizations", crowds[:600], oldest + (upper - oldest) // 2)  # a split boundary
        sim.set_updated_at("organizations", crowds[600:], upper)  # the next pass's, above the cap again
        project = make_project(tmp_path, copy_package=True, tuning={"backoff_base_seconds": 0.01,
                                                                    "backoff_max_seconds": 0.05})
        settings = configuration(sim, full_resync_days="0")
        full = run_debug(project, settings, timeout=RUN_TIMEOUT)
        assert full.returncode == 0, full.output[-3000:]
        # The crowd on `upper` is the next pass's: what the state claims is in the warehouse.
        problems, compared_full = claims_delivered(sim, project)
        assert problems == [], "after the full sync:\n" + "\n".join(problems)
        requests_full, faults_full = sim.stats.requests, sum(sim.stats.faults.values())

        clock.advance(30)
        sim.touch("products", rng.sample(sim.ids("products"), 300), at=upper + 10)  # one more crowd
        sim.reset_stats()
        incremental = run_debug(project, settings, timeout=RUN_TIMEOUT)
        assert incremental.returncode == 0, incremental.output[-3000:]
        assert_no_secrets(project, incremental, sim)
        problems, compared = equal_to_source(sim, project)
        summary = (f"cap {CAP} without the header: full sync {requests_full} requests ({faults_full} failed and "
                   f"retried), {compared_full} claimed records found; incremental {sim.stats.requests} requests, "
                   f"{sim.stats.records_served} records read, {compared} records equal")
        print(summary)
        assert problems == [], "after the incremental sync:\n" + "\n".join(problems)
        # Each crowd costs its own walks by id (a query yields at most CAP records): bounded.
        assert requests_full <= 3 * (sum(RECORDS.values()) / CAP) * 3 + faults_full, summary
