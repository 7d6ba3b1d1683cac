"""What the limits and the latency allow a perfect client: the ceilings and minimums the scenarios'
ratios are measured against. Pure arithmetic."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .sizes import BURST_SECONDS


def minimum_requests(records: Mapping[str, int], per_page: int) -> int:
    """One request per page of each stream, and one for an empty stream."""
    return sum(max(1, math.ceil(n / per_page)) for n in records.values())


def shortest_seconds(requests: int, *, latency: float, concurrency: int, burst: int | None) -> float:
    """A lower bound on the wall time of `requests`: `concurrency` in flight taking `latency` each,
    and (with a burst limit) `burst` sent at once per burst window, no more."""
    bound = math.ceil(requests / concurrency) * latency
    if burst:
        bound = max(bound, (requests - 1) // burst * BURST_SECONDS + latency)
    return bound


def allowed_requests(seconds: float, *, burst: int, burst_seconds: float, quota: int | None,
                     window: float) -> float:
    """The most requests the limits let a perfect client make in `seconds`: burst rate within each
    quota window, at most `quota` per window, a new window opening the moment the last one ends."""
    rate = burst / burst_seconds
    if quota is None:
        return rate * seconds
    total, start = 0.0, 0.0
    while start < seconds:
        total += min(quota, rate * min(window, seconds - start))
        start += window
    return total


def window_allowed(seconds: float, *, burst: int, burst_seconds: float, quota: int, window: float) -> int:
    """The most requests a sliding window of `burst` per `burst_seconds` and a quota per fixed
    window let a perfect client *send* in `seconds`: `burst` at once, and again each time the oldest
    leave the window; the quota's window opens with the first request. Stricter than
    allowed_requests (rate × time), which leaves out the burst a window admits at once: in a run of
    a few windows that burst is a good share of what is allowed."""
    if seconds < 0:
        return 0
    total, start = 0, 0.0
    while start <= seconds:
        into = min(seconds - start, window - 1e-9)
        total += min(quota, burst * (math.floor(into / burst_seconds) + 1))
        start += window
    return total


def fastest_seconds(requests: int, *, credentials: int, latency: float, **limits: Any) -> float:
    """The least time in which `credentials` perfect clients (each its own limits) get answers to
    `requests`: the last one sent as early as the limits allow, answered one latency later."""
    low, high = 0.0, 1.0
    while credentials * window_allowed(high, **limits) < requests:
        high *= 2
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (low, middle) if credentials * window_allowed(middle, **limits) >= requests else (middle, high)
    return high + latency
