"""Smoke test of the benchmark: two tiny scenarios through the bench's own functions, each run
against the simulator in a worker process, and the rows they produce."""

import dataclasses
import json
import math

import pytest

from xurrent_async.bench import bounds, cli, report
from xurrent_async.bench.results import Row, Target, judged
from xurrent_async.bench.runner import Bench, Scenario, run_scenarios
from xurrent_async.bench.scenarios.efficiency import request_efficiency
from xurrent_async.bench.scenarios.latency import LATENCY, LATENCY_PER_PAGE, vs_latency
from xurrent_async.bench.sizes import PER_PAGE, QUICK


def test_tiny_scenarios_produce_rows_whose_ratios_come_from_their_measurements(tmp_path):
    sizes = dataclasses.replace(QUICK, latency_pages=4, efficiency_records=(300, 300, 900),
                                efficiency_cap=400)
    runner = Bench(sizes, tmp_path, quick=True)

    reference, latency = vs_latency(runner, concurrency=4)
    (efficiency,) = request_efficiency(runner)

    for row in (reference, latency, efficiency):
        assert row.records > 0 and row.requests and row.requests > 0 and row.seconds > 0 and row.note
        assert row.records_per_second == pytest.approx(row.records / row.seconds)
    for row in (latency, efficiency):  # the judged rows; the reference has a ratio but no verdict
        assert row.ratio is not None and row.target and row.passed is not None
    assert reference.passed is None and not reference.target

    for row in (reference, latency):
        # 4 walks of 4 pages, each request made once.
        assert (row.records, row.requests) == (4 * 4 * LATENCY_PER_PAGE, 16)
        rate = row.requests / row.seconds
        assert row.extra["requests_per_second"] == pytest.approx(rate)
        assert row.ratio == pytest.approx(rate / (4 / LATENCY))
        # Nothing beats the latency (jitter aside); a healthy client is not far below it either.
        assert 0.3 < row.ratio < 1.1

    minimum = sum(math.ceil(n / PER_PAGE) for n in sizes.efficiency_records)
    assert efficiency.extra["minimum_requests"] == minimum
    assert efficiency.records == sum(sizes.efficiency_records)
    assert efficiency.ratio == pytest.approx(efficiency.requests / minimum)
    assert efficiency.ratio >= 1.0

    table = report.format_table([reference, latency, efficiency])
    assert "latency-4" in table and "efficiency" in table
    document = json.loads(json.dumps(report.to_json([reference, latency, efficiency], quick=True, seconds=1.0)))
    assert [r["scenario"] for r in document["rows"]] == ["latency-4", "latency-4", "efficiency"]

    # The limits' arithmetic: burst rate inside each window, at most the quota per window.
    assert bounds.allowed_requests(25, burst=20, burst_seconds=2, quota=100, window=20) == 100 + 50
    assert bounds.shortest_seconds(150, latency=0.15, concurrency=8, burst=20) == pytest.approx(14.15)


def test_what_a_sliding_window_lets_through_counts_the_burst_it_admits_at_once():
    limits = {"burst": 20, "burst_seconds": 2.0, "quota": 300, "window": 30.0}
    assert bounds.window_allowed(0.0, **limits) == 20  # a whole burst at once
    assert bounds.window_allowed(1.9, **limits) == 20 and bounds.window_allowed(2.0, **limits) == 40
    assert bounds.window_allowed(29.9, **limits) == 300  # the quota binds before the window ends
    assert bounds.window_allowed(30.0, **limits) == 320  # a new window, a new burst
    # Three credentials need a third of the time, plus the last answer's latency.
    one = bounds.fastest_seconds(450, credentials=1, latency=0.02, **limits)
    three = bounds.fastest_seconds(450, credentials=3, latency=0.02, **limits)
    assert one == pytest.approx(44.02, abs=1e-6) and three == pytest.approx(14.02, abs=1e-6)


def missing(bench_runner, **params):
    row = Row("fake", "connector", 10, 1, 1.0)
    return [judged(row, 0.5, Target(">=", 0.95))]


@pytest.mark.parametrize(("quick_meets", "shown", "exit_code"), [(False, "quick size", 0), (True, "NO", 1)])
def test_a_quick_run_says_quick_size_for_a_target_only_full_sizes_can_meet(
        capsys, quick_meets, shown, exit_code):
    fake = Scenario("fake", "a scenario that misses its target", missing, quick_meets=quick_meets)
    rows = run_scenarios([fake], quick=True, workdir=None)  # type: ignore[arg-type]
    (row,) = rows
    line = report.format_table(rows).splitlines()[2]
    assert line.rstrip().endswith(shown)
    if not quick_meets:
        assert row.passed is None and "judged on the full run" in row.note
    assert cli.main(["--quick", "--check"], scenarios=(fake,)) == exit_code  # --check fails on NO only
    # A full run judges it as it is.
    (full,) = run_scenarios([fake], quick=False, workdir=None)  # type: ignore[arg-type]
    assert full.passed is False
