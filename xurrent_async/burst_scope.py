"""Whether the pool's credentials share one burst window, and the pool-wide window that paces them
when they do.

How Xurrent counts its burst limit (20 requests per 2 s) is undocumented: per user, per token or
per client address. The pool starts from per user: each credential's governor keeps its own window.
Two kinds of answer from the server tell the cases apart:

* Evidence of one shared window: a 429 on a credential whose own window had room (its governor let
  the request through) and whose hourly quota was not spent. Per user, only another integration of
  that user explains it; per host, the pool's other credentials do.
* Proof against it: more than `limit` requests that the server counted (answered with anything but
  429 or 401), all sent and answered within one window's length. They arrived within one window,
  which a shared window of `limit` would never have let through. A pool at full speed under
  per-user limits shows this within its first window.

EVIDENCE_NEEDED pieces of evidence with no proof against in between make the pool pace every
credential through one window (SharedWindow), and the finding is remembered in the state
(state.BurstMemory) so that the next syncs start paced by it. It is re-checked now and then
(recheck_at): the shared window is let to empty, then one request more than the limit goes out as
fast as the pool sends. Per host, one of them is answered 429 (what a re-check costs); per user,
they are all counted within one window, the proof against, and each credential has its own window
again.

The rules (ScopeJudge, recheck_at) are pure; BurstScope applies them to the pool's requests.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from xurrent_async.governor import BURST_SAFETY, SlidingWindow
from xurrent_async.state import BurstMemory, to_iso

log = logging.getLogger(__name__)

# Unexplained 429s, with no proof against in between, that make the pool pace through one window.
EVIDENCE_NEEDED = 3
# A shared window is re-checked after as long as it has held, at least this and at most LONGEST.
FIRST_RECHECK_SECONDS = 600.0
LONGEST_RECHECK_SECONDS = 86_400.0


def recheck_at(since: float, now: float) -> float:
    """When a shared window found at `since`, and found to hold (again) at `now`, is next
    re-checked: after as long as it has held so far, at least FIRST_RECHECK_SECONDS and at most
    LONGEST_RECHECK_SECONDS (10 minutes, then 20, 40, ... up to a day). A finding that keeps
    holding costs fewer re-checks; a wrong one is corrected at the first."""
    return now + min(LONGEST_RECHECK_SECONDS, max(FIRST_RECHECK_SECONDS, now - since))


class ScopeJudge:
    """The decision rule, without I/O: fed the server's answers, it says when the evidence of one
    shared window is enough, and when a shared window is disproved."""

    def __init__(self, limit: int, period: float, needed: int = EVIDENCE_NEEDED):
        self.limit = limit
        self.period = period
        self.needed = needed
        self.evidence = 0  # unexplained 429s since the last proof against
        self.watching = False  # also look for a proof against when no evidence is pending (a re-check)
        self._counted: collections.deque[tuple[float, float]] = collections.deque()  # (sent, answered)

    def counted(self, sent: float, answered: float) -> bool:
        """A request the server counted, sent and answered at these moments (answers come in
        order). True when it and more than `limit` - 1 others were all sent and answered within one
        period: no shared window of `limit` admits them all, and the evidence so far is void."""
        while self._counted and self._counted[0][1] <= answered - self.period:
            self._counted.popleft()
        self._counted.append((sent, answered))
        if not (self.evidence or self.watching):
            return False  # nothing to decide: spare the count (the pool may be answered hundreds of times a second)
        within = sum(1 for s, _ in self._counted if s > answered - self.period)
        if within > self.limit:
            self.evidence = 0
            return True
        return False

    def unexplained_429(self) -> bool:
        """A 429 that neither its credential's own window nor its quota explains. True when it
        completes the evidence."""
        self.evidence += 1
        return self.evidence >= self.needed

    @property
    def recent(self) -> int:
        """Counted requests answered within the last period (for the log)."""
        return len(self._counted)


class SharedWindow(SlidingWindow):
    """The pool-wide burst window. It counts every request of the pool (`count` while each
    credential paces itself, so that its count is right the moment pacing moves to it) and paces
    them (`acquire`) while the credentials share one window. A re-check (`probe`) lets it empty,
    then admits one request more than the limit."""

    def __init__(self, limit: int, period: float, clock: Callable[[], float],
                 sleep: Callable[[float], Awaitable[object]]):
        super().__init__(limit, period, clock, sleep)
        self._draining = False
        self._probe_left = 0  # requests of a re-check still to let through
        self.took_probe = False  # the latest take was one of a re-check's requests

    def count(self) -> float:
        """Take a slot whether or not one is free: a request the credentials' own windows let through."""
        now = self._clock()
        while self._answered and self._answered[0] <= now:  # forget freed slots: nothing else does meanwhile
            self._answered.popleft()
        self._in_flight += 1
        self.took_probe = False
        return now

    def probe(self) -> None:
        self._draining = True

    def end_probe(self) -> None:
        self._draining, self._probe_left = False, 0

    @property
    def probing(self) -> bool:
        """A re-check is waiting for the window to empty, or has requests left to let through."""
        return self._draining or self._probe_left > 0

    def _take(self, now: float) -> bool:
        horizon = now + self._lead()
        while self._answered and self._answered[0] <= horizon:
            self._answered.popleft()
        used = self._in_flight + len(self._answered)
        if self._draining:
            if used:
                return False
            self._draining, self._probe_left = False, self.limit + 1
        if used >= self.limit + (1 if self._probe_left else 0):
            return False
        self._in_flight += 1
        self.took_probe = self._probe_left > 0
        self._probe_left = max(0, self._probe_left - 1)
        return True

    def _frees_at(self) -> float | None:
        if self._draining:  # every slot must free: the last one to
            return None if self._in_flight else (self._answered[-1] if self._answered else None)
        return super()._frees_at()


@dataclass
class Slot:
    """A request's place in the pool-wide window."""

    ticket: float
    probe: bool  # one of a re-check's requests
    paced: bool = True  # it waited for the shared window (not only for its credential's own)
    counted: bool = True  # the server counted it (not a 429 or 401): its slot stays for the window


class BurstScope:
    """Applies the rules to the pool's requests: counts each in the shared window, paces through it
    once the credentials are found to share one, re-checks that finding, says each change in the log
    and keeps the finding (`memory`) for the state."""

    def __init__(self, limit: int, period: float, clock: Callable[[], float],
                 sleep: Callable[[float], Awaitable[object]], *, memory: BurstMemory | None = None,
                 wall: Callable[[], float] = time.time):
        self.window = SharedWindow(limit, period * (1 + BURST_SAFETY), clock, sleep)
        self.judge = ScopeJudge(limit, period)
        self.memory = memory  # set while the credentials are taken to share one window
        self.period = period
        self.throttled_before = 0  # unexplained 429s while each credential paced itself
        self.throttled_paced = 0  # 429s on requests paced by the shared window (re-checks aside)
        self._clock = clock
        self._wall = wall
        self._said_memory = False
        self._probe_open = 0  # re-check requests taken and not yet released
        self._probe_429 = False

    @property
    def shared(self) -> bool:
        return self.memory is not None

    def paces(self, credentials: int) -> bool:
        """True when requests wait for the shared window: it is in force and shared by several."""
        return self.shared and credentials > 1

    async def acquire(self) -> Slot:
        """A slot in the shared window (paces() is true), starting a re-check when one is due."""
        assert self.memory is not None
        if not self._said_memory:
            self._said_memory = True
            log.info("The burst limit appears to be counted per host (an earlier sync found it at %s): every "
                     "credential's requests go through one window of %d per %g s; re-checked from %s on",
                     to_iso(self.memory.since), self.window.limit, self.period, to_iso(self.memory.recheck))
        if self._wall() >= self.memory.recheck and not self.window.probing and not self._probe_open:
            self.window.probe()
            self.judge.watching = True
        ticket = await self.window.acquire()
        probe = self.window.took_probe
        self._probe_open += probe
        return Slot(ticket, probe)

    def count(self) -> Slot:
        """A slot for a request the credentials' own windows let through."""
        return Slot(self.window.count(), False, paced=False)

    def unused(self, slot: Slot) -> None:
        """The slot's request was never sent."""
        slot.counted = False
        self.release(slot)

    def observe(self, slot: Slot, status: int, quota_left: float | None, credentials: int) -> bool:
        """A response to the slot's request; `credentials`: how many the pool sends on. Returns True
        when the pacing changed."""
        slot.counted = status not in (401, 429)
        if credentials < 2 or status == 401:
            return False
        if slot.counted:
            if self.judge.counted(slot.ticket, self._clock()):
                return self._disproved()
            return False
        if quota_left is not None and quota_left < 1:
            return False  # the hourly quota explains it
        if slot.probe:
            self._probe_429 = True
        elif slot.paced:
            self.throttled_paced += 1  # not the pool's window: another integration, say
        elif not self.shared:
            self.throttled_before += 1
            if self.judge.unexplained_429():
                return self._found(credentials)
        return False

    def release(self, slot: Slot) -> None:
        """The slot's request is over: a counted one holds its slot for the window, one the server
        did not count frees it at once."""
        if slot.counted:
            self.window.release(slot.ticket)
        else:
            self.window.cancel()
        if slot.probe:
            self._probe_open -= 1
            if not self._probe_open and not self.window.probing:
                self._rechecked()

    def _found(self, credentials: int) -> bool:
        now = self._wall()
        self.memory = BurstMemory(int(now), int(recheck_at(now, now)))
        log.warning("The burst limit appears to be counted per host: %d credentials share one window of %d per %g s "
                    "(%d answers of 429 came on credentials whose own window had room and whose quota was not "
                    "spent). Every credential's requests now go through that one window; the hourly quotas are "
                    "still each user's, spread across them. Re-checked from %s on.", credentials,
                    self.window.limit, self.period, self.throttled_before, to_iso(self.memory.recheck))
        self._said_memory = True
        return True

    def _disproved(self) -> bool:
        self.judge.watching = False
        self.window.end_probe()
        self._probe_429 = False
        if self.memory is None:
            return False
        self.memory = None
        log.warning("The burst limit is counted per credential after all: more than %d requests were counted within "
                    "%g s, more than one shared window holds. Each credential paces through its own window again.",
                    self.window.limit, self.period)
        return True

    def _rechecked(self) -> None:
        """Every request of a re-check has its answer, and none disproved the shared window."""
        self.judge.watching = False
        if self.memory is None:
            return
        now = self._wall()
        since = self.memory.since
        if self._probe_429:
            self.memory = BurstMemory(since, int(recheck_at(since, now)))
            log.info("Re-checked the burst limit: still one window for every credential (counted per host); "
                     "next re-check from %s on", to_iso(self.memory.recheck))
        else:  # neither a 429 nor a proof against: the pool did not send fast enough to tell
            self.memory = BurstMemory(since, int(now + FIRST_RECHECK_SECONDS))
        self._probe_429 = False
