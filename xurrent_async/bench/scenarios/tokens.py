"""tokens-3: a full sync with three credentials of distinct users beside the same sync with one."""

from __future__ import annotations

from typing import Any

from ..bounds import fastest_seconds, window_allowed
from ..results import BenchError, Row, Target, judged
from ..runner import Bench
from ..simulated import configuration, per_collection, served, sim_config
from ..sizes import BURST_SECONDS, POOL_TOKENS, REAL_BURST

TOKENS_LATENCY, TOKENS_JITTER = 0.020, 0.004


def vs_one_token(bench: Bench) -> list[Row]:
    """The same full sync with one credential and with three of distinct users, each with the real
    burst limit and an hourly quota scaled to what that limit allows in its window (so that both are
    in play and neither wins, and three credentials can at best be exactly three times as fast)."""
    from xurrent_async.simulator import SimulatorThread

    s = bench.sizes
    window = s.tokens_hour_seconds
    quota = round(REAL_BURST / BURST_SECONDS * window)
    records = per_collection(s.tokens_records)
    tuning = {"hour_seconds": window, "burst_seconds": BURST_SECONDS}
    runs: dict[int, tuple[dict[str, Any], int, int, dict[str, int]]] = {}
    for count in (1, 3):
        config = sim_config(records, latency=TOKENS_LATENCY, jitter=TOKENS_JITTER, burst=REAL_BURST, hourly=quota,
                            hour_seconds=window, tokens=POOL_TOKENS)
        with SimulatorThread(config) as sim:
            settings = configuration(sim.base_url, burst=REAL_BURST, hourly=quota, tokens=POOL_TOKENS[:count])
            result = bench.worker("sync", configuration=settings, tuning=tuning)
            requests, throttled = served(sim)
            by_token = dict(sim.stats.requests_by_credential)
        if result["rows"] != sum(records.values()):
            raise BenchError(f"tokens-3: {result['rows']} rows of {sum(records.values())} with {count} credential(s)")
        runs[count] = (result, requests, throttled, by_token)
    (one, one_requests, one_throttled, _), (three, requests, throttled, by_token) = runs[1], runs[3]
    limits: dict[str, Any] = dict(burst=REAL_BURST, burst_seconds=BURST_SECONDS, quota=quota, window=window)
    ceiling = (fastest_seconds(one_requests, credentials=1, latency=TOKENS_LATENCY, **limits)
               / fastest_seconds(requests, credentials=3, latency=TOKENS_LATENCY, **limits))
    one_row = Row("tokens-3", "one credential", one["rows"], one_requests, one["seconds"],
                  extra={"throttled": one_throttled}, note=f"{one_throttled} × 429")
    speed = Row("tokens-3", "three credentials, 3 users", three["rows"], requests, three["seconds"], extra={
        "throttled": throttled, "ceiling": ceiling, "requests_by_credential": sorted(by_token.values())})
    speed.note = (f"wall time one ÷ three credentials; ceiling {ceiling:.2f}× ({REAL_BURST} per {BURST_SECONDS:g} s "
                  f"and {quota} per {window:g} s 'hour' each, {TOKENS_LATENCY * 1000:.0f} ms); requests by credential "
                  f"{', '.join(str(n) for n in sorted(by_token.values()))}; {throttled} × 429 (target 0)")
    seconds = three["seconds"]
    # What three perfect clients could have sent and had answered in that time.
    allowed = 3 * window_allowed(seconds - TOKENS_LATENCY, **limits)
    rate = Row("tokens-3", "three credentials: request rate", three["rows"], requests, seconds, extra={
        "allowed_requests": allowed, "throttled": throttled})
    rate.note = (f"{requests - throttled} requests ÷ the {allowed:.0f} that three credentials' limits let a perfect "
                 f"client send and have answered in {seconds:.1f} s (each {REAL_BURST} at once, then as they leave "
                 f"the {BURST_SECONDS:g}-s window; {quota} per {window:g} s)")
    no_429 = throttled == 0 and one_throttled == 0
    return [one_row, judged(speed, one["seconds"] / seconds, Target(">=", 2.8), also=no_429),
            judged(rate, (requests - throttled) / allowed, Target(">=", 0.95), also=no_429)]
