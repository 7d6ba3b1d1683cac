"""One rate governor per token, shared by every stream and window of a sync.

Xurrent allows, per token, a burst of N requests per 2 seconds and an hourly quota in a fixed window
that opens with the first request. The governor keeps a sync under both so that, in steady state,
it never sees a 429:

* Burst: a sliding window of N requests per window, as the server counts them on arrival: a
  slot is held until its response and for the window after it, less half the shortest round trip
  (see SlidingWindow). A leaky bucket (aiolimiter) cannot model this well: with capacity C it admits up to
  C + N requests in a window, so only capacity 1 is safe, and then every late wake-up of the event
  loop is lost throughput (measured: 18.9 instead of 19.4 requests/s under load, and worse while
  the SDK thread holds the GIL). In a sliding window a late wake-up costs lateness/window, not
  lateness × rate.
* Quota: requests are spent at burst speed while the hourly budget lasts (pacing evenly could not
  finish a sync sooner); the budget is counted locally and corrected from every response's
  `X-RateLimit-Remaining`/`Reset`, so a token shared with another integration is respected. When
  it runs out, every request waits for the reset.
* 429: every request on the token waits until `Retry-After` has passed, not just the one that got
  it. Times from the server (Reset, an HTTP-date Retry-After) are taken relative to the same
  response's `Date`, so a skewed server clock does not matter.

Time comes from an injectable clock and sleep, so tests drive it without waiting.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

log = logging.getLogger(__name__)
# Waits at least this long are said in the log, so a quiet sync is never a mystery.
LOGGED_WAIT_SECONDS = 5.0
# Retry-After values beyond this are treated as this: the hourly window is the longest real wait.
MAX_RETRY_AFTER_SECONDS = 3660.0
# Without Retry-After, wait one burst window, doubling on consecutive 429s up to this.
MAX_DEFAULT_RETRY_AFTER_SECONDS = 300.0
# Fraction by which the burst window is widened: whole-millisecond clocks, scheduling noise.
BURST_SAFETY = 0.01
# Added to waits derived from whole-second server timestamps.
SERVER_TIME_MARGIN_SECONDS = 1.0
# How much each round trip moves the average that sizes the useful concurrency.
RTT_WEIGHT = 0.2


@dataclass
class GovernorStats:
    requests: int = 0          # requests let through
    throttled: int = 0         # 429 responses seen
    wait_seconds: float = 0.0  # time requests spent waiting for the quota or a 429 pause (summed)


def parse_http_date(value: str | None) -> float | None:
    """Epoch seconds of an HTTP-date, or None."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


class SlidingWindow:
    """At most `limit` requests *arriving at the server* in any `period` seconds.

    The server counts a request when it arrives, somewhere between our send and its response. So
    a slot is held while its request is in flight, and after the response for `period` more, less
    half the shortest round trip seen (a new request spends at least that long on its way). Waiters
    are served in order.
    """

    def __init__(self, limit: int, period: float, clock: Callable[[], float],
                 sleep: Callable[[float], Awaitable[object]]):
        self.limit = limit
        self._period = period
        self._clock = clock
        self._sleep = sleep
        self._answered: collections.deque[float] = collections.deque()  # when each slot frees, in order
        self._in_flight = 0
        self._min_rtt: float | None = None
        self._lock = asyncio.Lock()  # FIFO: the longest waiter goes first
        self._released = asyncio.Event()

    def _lead(self) -> float:
        return min(self._min_rtt / 2, self._period / 4) if self._min_rtt is not None else 0.0

    async def acquire(self) -> float:
        """Wait for a free slot and take it. Returns the send time, to hand back to release()."""
        async with self._lock:
            while True:
                now = self._clock()
                horizon = now + self._lead()
                while self._answered and self._answered[0] <= horizon:
                    self._answered.popleft()
                if self._in_flight + len(self._answered) < self.limit:
                    self._in_flight += 1
                    return now
                if self._answered:
                    await self._sleep(self._answered[0] - horizon)
                else:  # every slot is in flight: the next response frees one
                    self._released.clear()
                    await self._released.wait()

    def release(self, sent_at: float) -> None:
        """The request's response came (or it failed): its slot frees `period` from now."""
        now = self._clock()
        rtt = now - sent_at
        self._min_rtt = rtt if self._min_rtt is None else min(self._min_rtt, rtt)
        self._in_flight = max(0, self._in_flight - 1)
        self._answered.append(now + self._period)
        self._released.set()

    def cancel(self) -> None:
        """Give back a slot that was taken but not used."""
        self._in_flight = max(0, self._in_flight - 1)
        self._released.set()


def retry_after_seconds(value: str | None, server_date: float | None) -> float | None:
    """Seconds to wait from a Retry-After header: whole seconds or an HTTP-date (relative to the
    response's own Date when known). None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    at = parse_http_date(value)
    if at is None:
        return None
    reference = server_date if server_date is not None else time.time()
    return max(0.0, at - reference)


class RateGovernor:
    def __init__(
        self,
        *,
        burst_limit: int | None = 20,
        burst_seconds: float = 2.0,
        hourly_limit: int | None = 3600,
        hour_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        burst_safety: float = BURST_SAFETY,
    ):
        self._clock = clock
        self._sleep = sleep
        self._burst_seconds = burst_seconds
        self._burst = (
            SlidingWindow(burst_limit, burst_seconds * (1 + burst_safety), clock, sleep) if burst_limit else None
        )
        self._hour_seconds = hour_seconds
        self.hourly_limit = hourly_limit
        self._remaining: float | None = float(hourly_limit) if hourly_limit else None
        self._reset_at: float | None = None  # our clock; None until the window is known
        self._reset_epoch: float | None = None  # the server's Reset, to notice a new window
        self._paused_until = 0.0
        self._consecutive_429 = 0
        self._quota_logged = False
        self._in_flight = 0
        self._rtt: float | None = None  # a moving average of round trips, in seconds
        self.stats = GovernorStats()

    # -- before a request ------------------------------------------------------------------
    async def acquire(self) -> float:
        """Wait until a request on this token may be sent, then count it as sent. Returns a ticket
        for release(): the moment it was let through."""
        while True:
            now = self._clock()
            wait = self._paused_until - now
            if self._remaining is not None and self._remaining < 1:
                if self._reset_at is None:
                    # Budget spent but no window known: assume it opened with our first request.
                    self._reset_at = now + self._hour_seconds
                if self._reset_at - now > wait and not self._quota_logged:
                    self._quota_logged = True
                    log.info("The token's hourly quota (%s requests) is used up: every request waits %.0f s "
                             "for it to reset", self.hourly_limit, self._reset_at - now)
                wait = max(wait, self._reset_at - now)
                if wait <= 0:
                    self._open_window()
            if wait > 0:
                self.stats.wait_seconds += wait
                await self._sleep(wait)
                continue
            ticket = await self._burst.acquire() if self._burst is not None else self._clock()
            # While we waited for a slot, a 429 may have paused the token or others used the quota.
            if self._paused_until > self._clock() or (self._remaining is not None and self._remaining < 1):
                if self._burst is not None:
                    self._burst.cancel()
                continue
            break
        if self._remaining is not None:
            self._remaining -= 1
        if self._reset_at is None and self.hourly_limit:
            self._reset_at = self._clock() + self._hour_seconds + SERVER_TIME_MARGIN_SECONDS
        self._in_flight += 1
        self.stats.requests += 1
        return ticket

    def release(self, ticket: float) -> None:
        """The request got its response (or failed). Call after observe() for that response."""
        self._in_flight = max(0, self._in_flight - 1)
        rtt = max(0.0, self._clock() - ticket)
        self._rtt = rtt if self._rtt is None else self._rtt + RTT_WEIGHT * (rtt - self._rtt)
        if self._burst is not None:
            self._burst.release(ticket)

    def useful_in_flight(self, most: int) -> int:
        """How many requests in flight keep this token's burst limit busy, at most `most`: the
        burst rate times a round trip, doubled for the spread of round trips. More would only wait
        for the governor, and splitting windows to fill them costs requests (a partial page each)."""
        if self._burst is None or self._rtt is None:
            return most
        rate = self._burst.limit / self._burst_seconds
        return max(1, min(most, math.ceil(2 * rate * self._rtt)))

    def _open_window(self) -> None:
        self._quota_logged = False
        self._remaining = float(self.hourly_limit) if self.hourly_limit else None
        self._reset_at = None
        self._reset_epoch = None

    # -- after a response ------------------------------------------------------------------
    def observe(self, headers: Mapping[str, str], server_date: float | None) -> None:
        """Adopt the server's view of the quota from X-RateLimit-* headers."""
        limit = _number(headers.get("X-RateLimit-Limit"))
        remaining = _number(headers.get("X-RateLimit-Remaining"))
        reset = _number(headers.get("X-RateLimit-Reset"))
        if limit is not None and limit > 0:
            self.hourly_limit = int(limit)
        if remaining is None:
            return
        # Other requests still in flight may not be counted in this figure yet: assume they are not.
        # (This response's own request is still counted in _in_flight: release() comes after.)
        others = max(0, self._in_flight - 1)
        estimate = remaining - others
        new_window = reset is not None and reset != self._reset_epoch
        if self._remaining is None or new_window:
            self._remaining = estimate
        else:
            self._remaining = min(self._remaining, estimate)
        if reset is not None and new_window:
            self._reset_epoch = reset
            reference = server_date if server_date is not None else time.time()
            self._reset_at = self._clock() + max(0.0, reset - reference) + SERVER_TIME_MARGIN_SECONDS

    def on_success(self) -> None:
        self._consecutive_429 = 0

    def on_throttled(self, retry_after: float | None) -> float:
        """A 429: pause every request on this token. Returns the pause in seconds."""
        self.stats.throttled += 1
        self._consecutive_429 += 1
        if retry_after is None:
            if self._remaining is not None and self._remaining < 1 and self._reset_at is not None:
                retry_after = self._reset_at - self._clock()
            else:
                retry_after = min(
                    MAX_DEFAULT_RETRY_AFTER_SECONDS,
                    self._burst_seconds * 2 ** (self._consecutive_429 - 1),
                )
        pause = min(max(retry_after, 0.0), MAX_RETRY_AFTER_SECONDS)
        until = self._clock() + pause
        if pause >= LOGGED_WAIT_SECONDS and until > self._paused_until:  # short pauses show in the progress lines
            log.warning("Xurrent answered 429 (rate limited): every request on this token waits %.0f s", pause)
        self._paused_until = max(self._paused_until, until)
        return pause

    @property
    def remaining(self) -> float | None:
        return self._remaining


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
