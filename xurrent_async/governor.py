"""One rate governor per credential, shared by every stream and window of a sync (the pool in
pool.py picks, for each request, the credential that can send it soonest).

Xurrent allows each user a burst of N requests per 2 seconds and an hourly quota in a fixed window
that opens with the first request. A credential's governor keeps its requests under both so that,
in steady state, it never sees a 429:

* Burst: a sliding window of N requests per window, as the server counts them on arrival: a
  slot is held until its response and for the window after it, less half the shortest round trip
  (see SlidingWindow). A leaky bucket (aiolimiter) cannot model this well: with capacity C it admits up to
  C + N requests in a window, so only capacity 1 is safe, and then every late wake-up of the event
  loop is lost throughput (measured: 18.9 instead of 19.4 requests/s under load, and worse while
  the SDK thread holds the GIL). In a sliding window a late wake-up costs lateness/window, not
  lateness × rate.
* Quota: requests are spent at burst speed while the hourly quota lasts (pacing evenly could not
  finish a sync sooner); it is counted locally and corrected from every response's
  `X-RateLimit-Remaining`/`Reset`, so a token shared with another integration is respected. When
  it runs out, every request waits for the reset.
* 429: every request on the credential waits until `Retry-After` has passed, not just the one that
  got it. Times from the server (Reset, an HTTP-date Retry-After) are taken relative to the same
  response's `Date`, so a skewed server clock does not matter.
* Budget (optional): an average rate a user sets below the quota, to leave the rest of the user's
  quota to other integrations. That is exactly what a leaky bucket models, so it is aiolimiter's
  AsyncLimiter: capacity = the burst limit, draining at the budget's rate. The server's own limits
  stay with the sliding window and the headers.

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

from aiolimiter import AsyncLimiter

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
                if self._take(now):
                    return now
                frees_at = self._frees_at()
                if frees_at is not None:
                    await self._sleep(frees_at - (now + self._lead()))
                else:  # every slot is in flight: the next response frees one
                    self._released.clear()
                    await self._released.wait()

    def _frees_at(self) -> float | None:
        """When the slot a waiter needs frees; None while that waits for a response."""
        return self._answered[0] if self._answered else None

    def _take(self, now: float) -> bool:
        """Forget the slots that have freed by `now` (plus the lead), and take one if one is free."""
        horizon = now + self._lead()
        while self._answered and self._answered[0] <= horizon:
            self._answered.popleft()
        if self._in_flight + len(self._answered) < self.limit:
            self._in_flight += 1
            return True
        return False

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

    def try_acquire(self) -> float | None:
        """Take a slot if one is free right now and nobody is waiting for one; else None."""
        if self._lock.locked():
            return None
        now = self._clock()
        return now if self._take(now) else None


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
        budget_per_hour: int | None = None,
        label: str = "the token",
    ):
        """`budget_per_hour`: an average rate below the quota, with a burst allowance of the burst
        limit. Its limiter runs on the event loop's clock (which `clock` must then be, as it is by
        default). `label` names the credential in the log ("token 2"), never its value."""
        self.label = label
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
        self.budget_per_hour = budget_per_hour
        self._budget: AsyncLimiter | None = None
        # Budget units taken for turns that were given back: the next turns use them first.
        self._budget_credit = 0
        if budget_per_hour:
            allowance = max(1, burst_limit or 1)
            self._budget = AsyncLimiter(allowance, allowance * hour_seconds / budget_per_hour)
        self.stats = GovernorStats()

    # -- before a request ------------------------------------------------------------------
    async def acquire(self) -> float:
        """Wait until a request on this credential may be sent, then count it as sent. Returns a
        ticket for release(): the moment it was let through.

        Cancelled while it waits, it leaves nothing taken (a pool races several of these): every
        count changes after the last wait, in one step."""
        while True:
            await self._wait_unblocked()
            ticket = await self._burst.acquire() if self._burst is not None else self._clock()
            if self._budget is not None and not self._use_credit():
                try:
                    # Immediate when the bucket has room; otherwise the burst slot is held meanwhile
                    # (a budget binds far below the burst rate, so that slot is not missed).
                    await self._budget.acquire()
                except BaseException:
                    if self._burst is not None:
                        self._burst.cancel()
                    raise
            # While we waited for a slot, a 429 may have paused the credential or others used the
            # quota: wait again (the budget unit taken meanwhile serves the next turn).
            if self._blocked():
                if self._burst is not None:
                    self._burst.cancel()
                if self._budget is not None:
                    self._budget_credit += 1
                continue
            return self._take(ticket)

    async def try_acquire(self) -> float | None:
        """acquire() if it would not wait at all; else None, and nothing taken."""
        if self._blocked() or (self._budget is not None and not self._budget_credit
                               and not self._budget.has_capacity()):
            return None
        ticket = self._burst.try_acquire() if self._burst is not None else self._clock()
        if ticket is None:
            return None
        if self._budget is not None and not self._use_credit():
            await self._budget.acquire()  # it has room: returns without waiting
        return self._take(ticket)

    def _use_credit(self) -> bool:
        if self._budget_credit:
            self._budget_credit -= 1
            return True
        return False

    def give_back(self, ticket: float) -> None:
        """Undo an acquire() whose request was never sent (a pool chose another credential)."""
        if self._remaining is not None:
            self._remaining += 1
        self._in_flight = max(0, self._in_flight - 1)
        self.stats.requests -= 1
        if self._burst is not None:
            self._burst.cancel()
        if self._budget is not None:
            self._budget_credit += 1  # the limiter cannot take a unit back: the next turn uses it

    def not_counted(self) -> None:
        """A request the server did not count (answered 429 or 401, or no answer at all): its unit of
        the hourly quota comes back (a later response's headers correct it if it did count)."""
        if self._remaining is not None and self.hourly_limit:
            self._remaining = min(self._remaining + 1, float(self.hourly_limit))

    def _blocked(self) -> bool:
        return self._paused_until > self._clock() or (self._remaining is not None and self._remaining < 1)

    async def _wait_unblocked(self) -> None:
        """Wait out a 429 pause and a used-up quota."""
        while True:
            now = self._clock()
            wait = self._paused_until - now
            if self._remaining is not None and self._remaining < 1:
                if self._reset_at is None:
                    # Quota spent but no window known: assume it opened with our first request.
                    self._reset_at = now + self._hour_seconds
                if self._reset_at - now > wait and not self._quota_logged:
                    self._quota_logged = True
                    log.info("%s: the hourly quota (%s requests) is used up: its requests wait %.0f s for it to "
                             "reset", _capital(self.label), self.hourly_limit, self._reset_at - now)
                wait = max(wait, self._reset_at - now)
                if wait <= 0:
                    self._open_window()
            if wait <= 0:
                return
            self.stats.wait_seconds += wait
            await self._sleep(wait)

    def _take(self, ticket: float) -> float:
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
        """How many requests in flight keep this credential's burst limit busy, at most `most`: the
        burst rate times a round trip, doubled for the spread of round trips. More would only wait
        for the governor, and splitting windows to fill them costs requests (a partial page each)."""
        if self._burst is None or self._rtt is None:
            return most
        return max(1, min(most, math.ceil(2 * self.burst_rate * self._rtt)))

    @property
    def burst_limit(self) -> int | None:
        return self._burst.limit if self._burst is not None else None

    @property
    def burst_seconds(self) -> float:
        return self._burst_seconds

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    @property
    def sleep(self) -> Callable[[float], Awaitable[object]]:
        return self._sleep

    @property
    def burst_rate(self) -> float:
        """Requests per second the burst limit allows (infinite without one)."""
        return self._burst.limit / self._burst_seconds if self._burst is not None else math.inf

    @property
    def hour_seconds(self) -> float:
        return self._hour_seconds

    @property
    def budget_burst(self) -> float:
        """What the budget lets through at once (0 without a budget)."""
        return self._budget.max_rate if self._budget is not None else 0.0

    @property
    def reset_in(self) -> float | None:
        """Seconds until the quota's window resets, when known."""
        return None if self._reset_at is None else max(0.0, self._reset_at - self._clock())

    def _open_window(self) -> None:
        self._quota_logged = False
        self._remaining = float(self.hourly_limit) if self.hourly_limit else None
        self._reset_at = None
        self._reset_epoch = None

    # -- after a response ------------------------------------------------------------------
    def observe(self, headers: Mapping[str, str], server_date: float | None) -> None:
        """Adopt the server's view of the quota from X-RateLimit-* headers."""
        limit = header_number(headers.get("X-RateLimit-Limit"))
        remaining = header_number(headers.get("X-RateLimit-Remaining"))
        reset = header_number(headers.get("X-RateLimit-Reset"))
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
            # Capped like a Retry-After: the hourly window is the longest real wait.
            wait = min(MAX_RETRY_AFTER_SECONDS, max(0.0, reset - reference))
            self._reset_at = self._clock() + wait + SERVER_TIME_MARGIN_SECONDS

    def on_success(self) -> None:
        self._consecutive_429 = 0

    def on_throttled(self, retry_after: float | None) -> float:
        """A 429: pause every request on this credential. Returns the pause in seconds."""
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
            log.warning("Xurrent answered 429 (rate limited) on %s: its requests wait %.0f s", self.label, pause)
        self._paused_until = max(self._paused_until, until)
        return pause

    @property
    def remaining(self) -> float | None:
        return self._remaining


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def header_number(value: str | None) -> float | None:
    """A header's number, or None when absent or not a finite number."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
