"""original-burst, original-unlimited: the approach of Fivetran's original Xurrent example against
run_sync, same data, same latency, with the real burst limit and with limits off."""

from __future__ import annotations

from collections.abc import Mapping

from ..bounds import minimum_requests, shortest_seconds
from ..results import BenchError, Row, Target, judged
from ..runner import Bench
from ..simulated import configuration, per_collection, served, sim_config
from ..sizes import BURST_SECONDS, CONCURRENCY, ORIGINAL_PER_PAGE, PER_PAGE, REAL_BURST, REAL_HOURLY

ORIGINAL_LATENCY, ORIGINAL_JITTER = 0.150, 0.010  # mean seconds per request; uniform spread


def original_example(bench: Bench, records: Mapping[str, int], latency: float, jitter: float) -> Row:
    """The original example's run on this data, under the real limits (it never reaches them: its
    rate is 1/latency), made once per data set and latency and shared by the original-* scenarios."""
    from xurrent_async.simulator import SimulatorThread

    def run() -> Row:
        config = sim_config(records, latency=latency, jitter=jitter, burst=REAL_BURST, hourly=REAL_HOURLY)
        with SimulatorThread(config) as sim:
            result = bench.worker("original", base_url=sim.base_url)
            requests, throttled = served(sim)
        expected = sum(records.values())
        if result["rows"] != expected:
            raise BenchError(f"baseline read {result['rows']} of {expected} rows")
        return Row(
            "", "original example", result["rows"], requests, result["seconds"], extra={"throttled": throttled},
            note=f"{ORIGINAL_PER_PAGE} a page, one request in flight, stream after stream; run once, under the "
                 f"real limits ({REAL_BURST} per {BURST_SECONDS:g} s, {REAL_HOURLY}/h: {throttled} × 429), for "
                 f"the original-* scenarios of this run")

    return bench.once(("original", tuple(sorted(records.items())), latency, jitter), run)


def vs_original(bench: Bench, *, limited: bool) -> list[Row]:
    """The original example's approach against run_sync: same data, same latency, side by side."""
    from xurrent_async.simulator import SimulatorThread

    name = "original-burst" if limited else "original-unlimited"
    records = per_collection(bench.sizes.original_records)
    baseline = original_example(bench, records, ORIGINAL_LATENCY, ORIGINAL_JITTER)
    config = sim_config(records, latency=ORIGINAL_LATENCY, jitter=ORIGINAL_JITTER,
                        burst=REAL_BURST if limited else None, hourly=REAL_HOURLY if limited else None)
    with SimulatorThread(config) as sim:
        settings = configuration(sim.base_url, burst=REAL_BURST if limited else None,
                                 hourly=REAL_HOURLY if limited else None)
        result = bench.worker("sync", configuration=settings)
        requests, throttled = served(sim)
    # The ceiling: each side making only the pages it must, as fast as latency and limits allow.
    burst = REAL_BURST if limited else None
    ceiling = (shortest_seconds(minimum_requests(records, ORIGINAL_PER_PAGE), latency=ORIGINAL_LATENCY,
                                concurrency=1, burst=burst)
               / shortest_seconds(minimum_requests(records, PER_PAGE), latency=ORIGINAL_LATENCY,
                                  concurrency=CONCURRENCY, burst=burst))
    connector = Row(name, "connector (run_sync)", result["rows"], requests, result["seconds"], extra={
        "ceiling": ceiling, "throttled": throttled, "retries": result["retries"]})
    baseline_row = Row(name, baseline.side, baseline.records, baseline.requests, baseline.seconds,
                       note=baseline.note if limited else "")
    limits = f"{REAL_BURST} per {BURST_SECONDS:g} s" if limited else "limits off"
    connector.note = (f"wall time original ÷ connector; ceiling {ceiling:.1f}× ({limits}, "
                      f"{ORIGINAL_LATENCY * 1000:.0f} ms, {CONCURRENCY} in flight); {throttled} × 429")
    target = Target(">=", 5.5 if limited else 25.0)
    return [baseline_row, judged(connector, baseline.seconds / result["seconds"], target,
                                 also=result["rows"] == baseline.records)]
