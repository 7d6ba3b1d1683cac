"""latency-8, latency-32, latency-8-sync: requests/s with C in flight against C / latency."""

from __future__ import annotations

import math
from typing import Any

from ..results import BenchError, Row, Target, judged
from ..runner import Bench
from ..simulated import configuration, cpu_figures, cpu_note, per_collection, served, sim_config
from ..sizes import COLLECTIONS

LATENCY, LATENCY_JITTER = 0.100, 0.010


# The walks ask one record a page: the question is requests in flight, and every record costs the
# simulator CPU (at 10 a page it already holds a bare aiohttp client to ~0.6 of C / latency at C = 32).
LATENCY_PER_PAGE = 1


LATENCY_SYNC_PER_PAGE = 10  # a whole sync at one record a page would take minutes


def vs_latency(bench: Bench, *, concurrency: int, sync: bool = False) -> list[Row]:
    """Requests/s with C in flight against C / latency: C page walks at once through the
    connector's client, next to the same walks by a bare aiohttp loop (what the machine and the
    simulator allow); or (`sync`) a whole run_sync, windowing included."""
    from xurrent_async.simulator import SimulatorThread

    per_page = LATENCY_SYNC_PER_PAGE if sync else LATENCY_PER_PAGE
    config = configuration("", concurrency=concurrency, per_page=per_page)
    ideal = concurrency / LATENCY
    name = f"latency-{concurrency}" + ("-sync" if sync else "")

    def row(side: str, result: dict[str, Any], requests: int, how: str) -> Row:
        achieved = requests / result["seconds"]
        return Row(name, side, result["rows"], requests, result["seconds"], ratio=achieved / ideal, extra={
            "requests_per_second": achieved, "ideal_requests_per_second": ideal, **cpu_figures(result)},
            note=f"{achieved:.0f} requests/s ÷ {ideal:.0f} ({concurrency} in flight ÷ {LATENCY * 1000:.0f} ms); "
                 f"{how}; {cpu_note(result)}")

    if sync:
        records = per_collection(bench.sizes.latency_sync_records)
        with SimulatorThread(sim_config(records, latency=LATENCY, jitter=LATENCY_JITTER)) as sim:
            result = bench.worker("sync", configuration={**config, "base_url": sim.base_url})
            requests, throttled = served(sim)
        expected = sum(records.values())
        rows = [row("connector (run_sync)", result, requests,
                    f"a full sync of {expected:,} records, {per_page} a page")]
    else:
        pages = bench.sizes.latency_pages
        size = pages * LATENCY_PER_PAGE  # records per walk
        expected = concurrency * size
        rows, throttled = [], 0
        with SimulatorThread(sim_config(per_collection(math.ceil(concurrency / len(COLLECTIONS)) * size),
                                        latency=LATENCY, jitter=LATENCY_JITTER)) as sim:
            walks = []
            for i in range(concurrency):
                table, k = COLLECTIONS[i % len(COLLECTIONS)], i // len(COLLECTIONS)
                chosen = sim.ids(table)[k * size:(k + 1) * size]  # ids increase with position
                walks.append((table, chosen[0], chosen[-1] + 1))
            how = f"{concurrency} walks of {pages} pages of {per_page} record(s)"
            for side, bare in (("bare aiohttp (reference)", True), ("connector client", False)):
                sim.reset_stats()
                result = bench.worker("walks", configuration={**config, "base_url": sim.base_url}, walks=walks,
                                      per_page=per_page, bare=bare)
                requests, throttled = served(sim)
                if result["rows"] != expected:
                    raise BenchError(f"{name}: {side} read {result['rows']} of {expected} records")
                rows.append(row(side, result, requests, how + (" through open_client" if not bare else "")))
    last = rows[-1]
    last.extra["throttled"] = throttled
    return [*rows[:-1], judged(last, last.ratio or 0.0, Target(">=", 0.90), also=last.records == expected)]
