"""efficiency: requests made against the minimum, on a full sync that runs into the record cap."""

from __future__ import annotations

from ..bounds import minimum_requests
from ..results import Row, Target, judged
from ..runner import Bench
from ..simulated import configuration, served, sim_config
from ..sizes import COLLECTIONS, PER_PAGE


def request_efficiency(bench: Bench) -> list[Row]:
    """A clean full sync over the record cap: every request beyond one per page is overhead."""
    from xurrent_async.simulator import SimulatorThread

    s = bench.sizes
    records = dict(zip(COLLECTIONS, s.efficiency_records, strict=True))
    config = sim_config(records, latency=0.005, record_cap=s.efficiency_cap)
    # Windows are sized to the cap as the defaults are to the API's (50,000 of 100,000).
    tuning = {"window_records": s.efficiency_cap // 2}
    with SimulatorThread(config) as sim:
        result = bench.worker("sync", configuration=configuration(sim.base_url), tuning=tuning)
        requests, throttled = served(sim)
    minimum = minimum_requests(records, PER_PAGE)
    row = Row("efficiency", "connector (run_sync)", result["rows"], requests, result["seconds"], extra={
        "minimum_requests": minimum, "record_cap": s.efficiency_cap, "throttled": throttled})
    row.note = f"requests ÷ the minimum {minimum} (one per 100 records per stream); record cap {s.efficiency_cap:,}"
    return [judged(row, requests / minimum, Target("<=", 1.05), also=result["rows"] >= sum(records.values()))]
