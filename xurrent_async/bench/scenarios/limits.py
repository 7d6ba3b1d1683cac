"""limits: the request rate against what the burst limit and a scaled hourly quota allow, no 429."""

from __future__ import annotations

import math

from ..bounds import allowed_requests
from ..results import Row, Target, judged
from ..runner import Bench
from ..simulated import configuration, per_collection, served, sim_config
from ..sizes import BURST_SECONDS, COLLECTIONS, PER_PAGE, REAL_BURST


def vs_limits(bench: Bench) -> list[Row]:
    """Latency low, so only the burst limit and a scaled hourly quota bound the sync."""
    from xurrent_async.simulator import SimulatorThread

    s = bench.sizes
    quota, window = s.limits_hourly, s.limits_hour_seconds
    wanted = math.ceil(s.limits_windows * quota)  # requests the sync needs, at 100 records each
    records = per_collection(math.ceil(wanted / len(COLLECTIONS)) * PER_PAGE)
    config = sim_config(records, latency=0.010, jitter=0.002, burst=REAL_BURST, hourly=quota, hour_seconds=window)
    with SimulatorThread(config) as sim:
        result = bench.worker("sync", configuration=configuration(sim.base_url, burst=REAL_BURST, hourly=quota),
                              tuning={"hour_seconds": window, "burst_seconds": BURST_SECONDS})
        requests, throttled = served(sim)
    seconds = result["seconds"]
    allowed = allowed_requests(seconds, burst=REAL_BURST, burst_seconds=BURST_SECONDS, quota=quota, window=window)
    row = Row("limits", "connector (run_sync)", result["rows"], requests, seconds, extra={
        "allowed_requests": allowed, "throttled": throttled, "quota": quota, "window_seconds": window})
    row.note = (f"requests ÷ the {allowed:.0f} the limits allow in {seconds:.1f} s ({REAL_BURST} per "
                f"{BURST_SECONDS:g} s, {quota} per {window:g} s 'hour'); {throttled} × 429 (target 0)")
    return [judged(row, (requests - throttled) / allowed, Target(">=", 0.95), also=throttled == 0)]
