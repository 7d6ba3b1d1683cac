"""tokens-3: a full sync with three credentials of distinct users beside the same sync with one;
tokens-3-host: the same against a server that counts the burst limit per host (every user's
requests from this machine in one window); tokens-3-busy: the same with another integration of
each user spending its quota meanwhile."""

from __future__ import annotations

from typing import Any

from ..bounds import fastest_seconds, window_allowed
from ..results import BenchError, Row, Target, judged
from ..runner import Bench
from ..simulated import configuration, per_collection, served, sim_config
from ..sizes import BURST_SECONDS, POOL_TOKENS, REAL_BURST

TOKENS_LATENCY, TOKENS_JITTER = 0.020, 0.004
# Per host, 429s the pool may draw (while it finds the shared window) against the requests it sends.
HOST_429_SHARE = 0.05
# Requests a second that another integration of each user spends on its quota (tokens-3-busy).
OTHER_INTEGRATION_PER_SECOND = 1.0


def _quota(bench: Bench) -> int:
    """Each credential's quota: what the burst limit allows in the scaled "hour"."""
    return round(REAL_BURST / BURST_SECONDS * bench.sizes.tokens_hour_seconds)


def _sync(bench: Bench, name: str, count: int, scope: str,
          others: float = 0.0) -> tuple[dict[str, Any], int, int, dict[str, int]]:
    """A full sync with `count` credentials: its result, requests served, 429s, requests by credential.
    `others`: requests a second another integration of each user spends on its quota."""
    from xurrent_async.simulator import SimulatorThread

    window, quota = bench.sizes.tokens_hour_seconds, _quota(bench)
    records = per_collection(bench.sizes.tokens_records)
    config = sim_config(records, latency=TOKENS_LATENCY, jitter=TOKENS_JITTER, burst=REAL_BURST, hourly=quota,
                        hour_seconds=window, tokens=POOL_TOKENS, burst_scope=scope)
    config.other_integration_per_second = others
    with SimulatorThread(config) as sim:
        settings = configuration(sim.base_url, burst=REAL_BURST, hourly=quota, tokens=POOL_TOKENS[:count])
        result = bench.worker("sync", configuration=settings,
                              tuning={"hour_seconds": window, "burst_seconds": BURST_SECONDS})
        requests, throttled = served(sim)
        by_token = dict(sim.stats.requests_by_credential)
    if result["rows"] != sum(records.values()):
        raise BenchError(f"{name}: {result['rows']} rows of {sum(records.values())} with {count} credential(s)")
    return result, requests, throttled, by_token


def vs_one_token(bench: Bench) -> list[Row]:
    """The same full sync with one credential and with three of distinct users, each with the real
    burst limit and an hourly quota scaled to what that limit allows in its window (so that both are
    in play and neither wins, and three credentials can at best be exactly three times as fast)."""
    window, quota = bench.sizes.tokens_hour_seconds, _quota(bench)
    one, one_requests, one_throttled, _ = _sync(bench, "tokens-3", 1, "user")
    three, requests, throttled, by_token = _sync(bench, "tokens-3", 3, "user")
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


def vs_one_token_per_host(bench: Bench) -> list[Row]:
    """The same two syncs against a server whose burst window counts every user's requests from
    this machine together: three credentials can send no faster than one (their quotas still add
    up), so the pool must find the shared window and keep to it, not run into it."""
    window, quota = bench.sizes.tokens_hour_seconds, _quota(bench)
    one, one_requests, one_throttled, _ = _sync(bench, "tokens-3-host", 1, "host")
    three, requests, throttled, by_token = _sync(bench, "tokens-3-host", 3, "host")
    one_row = Row("tokens-3-host", "one credential, burst per host", one["rows"], one_requests, one["seconds"],
                  extra={"throttled": one_throttled}, note=f"{one_throttled} × 429")
    speed = Row("tokens-3-host", "three credentials, 3 users, burst per host", three["rows"], requests,
                three["seconds"], extra={"throttled": throttled, "requests_by_credential": sorted(by_token.values())})
    share = throttled / requests if requests else 0.0
    speed.note = (f"wall time one ÷ three credentials, both under one window of {REAL_BURST} per {BURST_SECONDS:g} s "
                  f"for the host ({quota} per {window:g} s 'hour' each user, {TOKENS_LATENCY * 1000:.0f} ms); "
                  f"requests by credential {', '.join(str(n) for n in sorted(by_token.values()))}; {throttled} × 429 "
                  f"({share:.1%} of the requests, target ≤ {HOST_429_SHARE:.0%})")
    return [one_row, judged(speed, one["seconds"] / three["seconds"], Target(">=", 0.9),
                            also=share <= HOST_429_SHARE and one_throttled == 0)]


def vs_one_token_busy(bench: Bench) -> list[Row]:
    """The same two syncs while another integration of each user spends OTHER_INTEGRATION_PER_SECOND
    of its quota: every user's quota then moves by more than our requests explain, which must not
    make distinct users look like one (the pool would then send on one credential only)."""
    others = OTHER_INTEGRATION_PER_SECOND
    window, quota = bench.sizes.tokens_hour_seconds, _quota(bench)
    one, one_requests, one_throttled, _ = _sync(bench, "tokens-3-busy", 1, "user", others)
    three, requests, throttled, by_token = _sync(bench, "tokens-3-busy", 3, "user", others)
    one_row = Row("tokens-3-busy", "one credential, its user busy elsewhere", one["rows"], one_requests,
                  one["seconds"], extra={"throttled": one_throttled}, note=f"{one_throttled} × 429")
    speed = Row("tokens-3-busy", "three credentials, 3 users, each busy elsewhere", three["rows"], requests,
                three["seconds"], extra={"throttled": throttled, "requests_by_credential": sorted(by_token.values())})
    shares = sorted(by_token.values())
    every_share = len(shares) == 3 and shares[0] >= requests / 6
    speed.note = (f"wall time one ÷ three credentials, another integration of each user spending {others:g} "
                  f"request/s of its quota ({quota} per {window:g} s 'hour', {REAL_BURST} per {BURST_SECONDS:g} s); "
                  f"requests by credential {', '.join(str(n) for n in shares)} (each at least a sixth: "
                  f"{'yes' if every_share else 'no'}); {throttled} × 429")
    return [one_row, judged(speed, one["seconds"] / three["seconds"], Target(">=", 2.3), also=every_share)]
