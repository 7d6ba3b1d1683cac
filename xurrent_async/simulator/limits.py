"""Per-token rate limits: an hourly fixed window opened by the token's first request, and a
sliding-window burst limit. Rejected requests consume nothing; `check` only looks, `consume`
records a request that is answered with something other than 429."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass
class _TokenState:
    window_start: float | None = None
    count: int = 0
    burst: deque[float] = field(default_factory=deque)


@dataclass(frozen=True)
class Limits:
    hourly_limit: int | None
    hour_seconds: float
    burst_limit: int | None
    burst_seconds: float


class RateLimiter:
    def __init__(self) -> None:
        self._tokens: dict[str, _TokenState] = {}

    def _state(self, token: str, now: float, limits: Limits) -> _TokenState:
        state = self._tokens.setdefault(token, _TokenState())
        if state.window_start is None or now >= state.window_start + limits.hour_seconds:
            state.window_start, state.count = now, 0
        cutoff = now - limits.burst_seconds
        while state.burst and state.burst[0] <= cutoff:
            state.burst.popleft()
        return state

    def check(self, token: str, now: float, limits: Limits) -> float | None:
        """None if a request may pass now, else the epoch time from which it would."""
        state = self._state(token, now, limits)
        retry_at: float | None = None
        if limits.hourly_limit is not None and state.count >= limits.hourly_limit:
            assert state.window_start is not None
            retry_at = state.window_start + limits.hour_seconds
        if limits.burst_limit is not None and len(state.burst) >= limits.burst_limit:
            # Room opens when enough of the oldest requests leave the sliding window.
            freed_at = state.burst[len(state.burst) - limits.burst_limit] + limits.burst_seconds
            retry_at = freed_at if retry_at is None else max(retry_at, freed_at)
        return retry_at

    def consume(self, token: str, now: float, limits: Limits) -> None:
        state = self._state(token, now, limits)
        state.count += 1
        state.burst.append(now)

    def headers(self, token: str, now: float, limits: Limits) -> dict[str, str]:
        """X-RateLimit-* for a response; none when the hourly limit is switched off."""
        if limits.hourly_limit is None:
            return {}
        state = self._state(token, now, limits)
        assert state.window_start is not None
        return {
            "X-RateLimit-Limit": str(limits.hourly_limit),
            "X-RateLimit-Remaining": str(max(0, limits.hourly_limit - state.count)),
            "X-RateLimit-Reset": str(math.ceil(state.window_start + limits.hour_seconds)),
        }


def retry_after_seconds(retry_at: float, now: float) -> int:
    return max(1, math.ceil(retry_at - now))
