"""How long requests take at the limits of a pool of credentials: pure arithmetic, no I/O.

Each credential's quota is a fixed window (`hour` seconds, opened by a request) of `quota`
requests, spent at most at its burst rate (its part of one shared burst window, when the pool's
credentials share one); a budget caps it further at an average rate. The pool
serves the requests of every stream: what one stream needs is never measured against a credential
as if it had it to itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Capacity:
    """What one credential can still send: its limits and, when the headers told, where its current
    window stands."""

    quota: float  # requests per window; math.inf without an hourly limit
    hour: float  # the window's length in seconds
    rate: float  # requests per second at most (the burst limit); math.inf without one
    remaining: float | None = None  # left in the current window; None: a fresh window
    reset_in: float | None = None  # seconds until the current window ends; None: a fresh window
    budget_rate: float | None = None  # requests per second on average, when a budget is set
    budget_burst: float = 0.0  # what the budget lets through at once
    burst_shared_by: int = 1  # credentials sharing one burst window (`rate` is then this one's part of it)

    @property
    def per_hour(self) -> float:
        """Requests per hour this credential can sustain."""
        per_window = min(self.quota, self.rate * self.hour)
        sustained = per_window * 3600 / self.hour
        if self.budget_rate is not None:
            sustained = min(sustained, self.budget_rate * 3600)
        return sustained

    def allowed(self, t: float) -> float:
        """The most requests this credential can send in the next `t` seconds."""
        remaining = self.quota if self.remaining is None else max(0.0, self.remaining)
        reset_in = self.hour if self.reset_in is None else max(0.0, self.reset_in)
        if t <= reset_in:
            total = min(remaining, _sent(self.rate, t))
        else:
            total = min(remaining, _sent(self.rate, reset_in))
            windows, into = divmod(t - reset_in, self.hour)
            total += windows * min(self.quota, _sent(self.rate, self.hour)) + min(self.quota, _sent(self.rate, into))
        if self.budget_rate is not None:
            total = min(total, self.budget_burst + _sent(self.budget_rate, t))
        return total


def _sent(rate: float, seconds: float) -> float:
    """Requests at `rate` in `seconds` (no time, no requests, even at an infinite rate)."""
    return rate * seconds if seconds > 0 else 0.0


def seconds_for(requests: float, pool: Sequence[Capacity]) -> float:
    """The shortest time in which the pool can send `requests` (math.inf if it never can)."""
    if requests <= 0:
        return 0.0
    per_hour = sum(c.per_hour for c in pool)
    if not pool or per_hour <= 0:
        return math.inf

    def enough(t: float) -> bool:
        return sum(c.allowed(t) for c in pool) >= requests

    high = max(1.0, 3600 * requests / per_hour)
    while not enough(high):  # the first windows can be worth less than the sustained rate
        high *= 2
    low = 0.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (low, middle) if enough(middle) else (middle, high)
    return high


def stream_seconds(left: dict[str, float], pool: Sequence[Capacity]) -> dict[str, float]:
    """When each stream would be done if the pool served every stream's requests side by side (as
    the extraction does): a stream finishes once the pool has sent its requests and, of every other
    stream, as many as that stream's or all of them if it has fewer."""
    return {name: seconds_for(sum(min(other, mine) for other in left.values()), pool)
            for name, mine in left.items()}


def duration(seconds: float) -> str:
    """Seconds as a person reads them in a log line."""
    if math.isinf(seconds):
        return "never (no credential left)"
    if seconds < 90:
        return f"{max(1, math.ceil(seconds))} s"  # never "0 s": something is left
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
