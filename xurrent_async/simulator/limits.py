"""Rate limits, counted as the API counts them: an hourly fixed window per authenticated user, opened
by the user's first request, and a sliding-window burst limit per user, per access token or per
client address (`burst_scope`; the docs do not say). Rejected requests consume nothing; `check` only looks,
`consume` records a request that is answered with something other than 429. `others_per_second`
plays another integration of every user (a service desk runs several): it spends that many requests
a second of the user's hourly quota, on the simulator's clock, from the window's opening (not in the
burst windows: at about one a second it spreads far below them)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


@dataclass
class _Window:
    start: float | None = None
    count: int = 0
    others: float = 0.0  # what another integration of the user spent in it (whole requests count)
    others_until: float = 0.0  # the moment `others` is accrued to

    def used(self) -> int:
        return self.count + int(self.others)


@dataclass(frozen=True)
class Limits:
    hourly_limit: int | None
    hour_seconds: float
    burst_limit: int | None
    burst_seconds: float
    others_per_second: float = 0.0


@dataclass(frozen=True)
class Caller:
    """Who a request counts against: the user (hourly quota) and the key of its burst window."""

    user: str
    burst_key: str


class RateLimiter:
    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}
        self._bursts: dict[str, deque[float]] = {}

    def _window(self, user: str, now: float, limits: Limits) -> _Window:
        window = self._windows.setdefault(user, _Window())
        if window.start is None or now >= window.start + limits.hour_seconds:
            window.start, window.count, window.others, window.others_until = now, 0, 0.0, now
        if now > window.others_until:
            window.others += limits.others_per_second * (now - window.others_until)
            window.others_until = now
        return window

    def _burst(self, key: str, now: float, limits: Limits) -> deque[float]:
        burst = self._bursts.setdefault(key, deque())
        cutoff = now - limits.burst_seconds
        while burst and burst[0] <= cutoff:
            burst.popleft()
        return burst

    def check(self, caller: Caller, now: float, limits: Limits) -> float | None:
        """None if a request may pass now, else the epoch time from which it would."""
        window = self._window(caller.user, now, limits)
        burst = self._burst(caller.burst_key, now, limits)
        retry_at: float | None = None
        if limits.hourly_limit is not None and window.used() >= limits.hourly_limit:
            assert window.start is not None
            retry_at = window.start + limits.hour_seconds
        if limits.burst_limit is not None and len(burst) >= limits.burst_limit:
            # Room opens when enough of the oldest requests leave the sliding window.
            freed_at = burst[len(burst) - limits.burst_limit] + limits.burst_seconds
            retry_at = freed_at if retry_at is None else max(retry_at, freed_at)
        return retry_at

    def consume(self, caller: Caller, now: float, limits: Limits) -> None:
        self._window(caller.user, now, limits).count += 1
        self._burst(caller.burst_key, now, limits).append(now)

    def quiet_at(self, limits: Limits) -> float:
        """When every burst window is empty again (the last request counted plus the window)."""
        return max((burst[-1] + limits.burst_seconds for burst in self._bursts.values() if burst), default=0.0)

    def headers(self, caller: Caller, now: float, limits: Limits) -> dict[str, str]:
        """X-RateLimit-* for a response: the user's quota; none when the hourly limit is off."""
        if limits.hourly_limit is None:
            return {}
        window = self._window(caller.user, now, limits)
        assert window.start is not None
        return {
            "X-RateLimit-Limit": str(limits.hourly_limit),
            "X-RateLimit-Remaining": str(max(0, limits.hourly_limit - window.used())),
            "X-RateLimit-Reset": str(math.ceil(window.start + limits.hour_seconds)),
        }


def retry_after_seconds(retry_at: float, now: float) -> int:
    return max(1, math.ceil(retry_at - now))
