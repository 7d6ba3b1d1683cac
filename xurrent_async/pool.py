"""A pool of credentials, each with its own governor and token provider, shared by every stream.

Xurrent's limits belong to the authenticated user, so credentials of several users (or OAuth
applications) multiply what a sync may send. Every request goes to the credential that can send it
soonest: one that can send at once, the one with the most quota left first; otherwise the
credentials' governors race and the first to admit the request takes it (the others are cancelled,
which leaves nothing taken). Requests wait their turn in order.

A 429 pauses only the credential that got it (its governor). A refused credential is retired, said
in the log by its position, and the sync goes on with the others; when none is left, the sync fails
naming each. When the X-RateLimit headers show two credentials drawing on one quota (tokens of one
user), the log says so once and the second is held in reserve: it adds nothing, and sending on both
would only run into the user's limits twice as fast.

Each credential paces its own burst window, as if the burst limit were counted per user. When the
server's answers show that the credentials share one window (counted per host), every request first
takes a slot in one pool-wide window as well (burst_scope.py), while the credentials' quotas are
still spread as before.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from xurrent_async.auth import TokenProvider
from xurrent_async.burst_scope import BurstScope, Slot
from xurrent_async.errors import AuthenticationError
from xurrent_async.estimate import Capacity
from xurrent_async.governor import GovernorStats, RateGovernor, header_number
from xurrent_async.state import BurstMemory

log = logging.getLogger(__name__)

# Requests from others on a credential's quota (beyond what its own requests can explain) before
# two credentials are taken to share a user; both must show it.
SHARE_EVIDENCE = 3
# Requests by which "the others" may exceed what our other credentials sent (whole-second and
# in-flight effects) and still be explained by them.
SHARE_SLACK = 2


@dataclass
class Counts:
    """One credential's requests, as the pool saw them, to read its quota's headers against."""

    sent: int = 0  # let through and not given back (in flight or answered)
    uncounted: int = 0  # answered 429 or 401: the server did not count them
    counted: int = 0  # answered with anything else: the server counted them

    @property
    def at_most(self) -> int:
        """The most of this credential's requests the server can have counted so far."""
        return self.sent - self.uncounted


@dataclass
class _Baseline:
    """A credential's first response in a quota window: what it said, and everyone's counts then."""

    epoch: float
    consumed: float
    counted: dict[int, int]  # position -> Counts.counted


@dataclass(eq=False)
class Member:
    label: str  # "token 2": the credential's kind and position, never its value
    position: int
    auth: TokenProvider
    governor: RateGovernor
    counts: Counts = field(default_factory=Counts)
    retired: AuthenticationError | None = None
    group: set[Member] | None = None  # the credentials known to share its user's quota (itself included)
    epoch: float | None = None  # the X-RateLimit-Reset of its latest response
    others: float = 0.0  # requests from others on its quota since its baseline (a lower bound)
    _baseline: _Baseline | None = None

    @property
    def live(self) -> bool:
        return self.retired is None

    @property
    def leader(self) -> Member | None:
        """Of the live credentials sharing its quota, the one requests go to (the first configured)."""
        if self.group is None:
            return self if self.live else None
        return min((m for m in self.group if m.live), key=lambda m: m.position, default=None)


@dataclass
class Lease:
    member: Member
    ticket: float
    slot: Slot | None = None  # its place in the pool-wide burst window (None: the pool has none)


class NoCredentialLeft(AuthenticationError):
    """Every credential of the pool was refused."""


class ShareDetector:
    """Tells from X-RateLimit headers that two credentials draw on one quota.

    On each response, a credential's quota has grown (limit − remaining) by what the server
    counted since its first response in this window; its own requests explain at most
    `at_most(now) − counted(then)` of that. The rest is a lower bound on what others sent on that
    quota. Two credentials share a user when each shows at least SHARE_EVIDENCE of that, in the same
    window, and what each shows is explained by what our other credentials sent meanwhile (another
    integration of the user is not).
    """

    def observe(self, member: Member, members: Sequence[Member], headers: Mapping[str, str]) -> list[Member]:
        """Record `member`'s response; returns the live members it is now known to share with."""
        limit = header_number(headers.get("X-RateLimit-Limit"))
        remaining = header_number(headers.get("X-RateLimit-Remaining"))
        epoch = header_number(headers.get("X-RateLimit-Reset"))
        if limit is None or remaining is None or epoch is None:
            return []
        consumed = limit - remaining
        member.epoch = epoch
        base = member._baseline
        if base is None or base.epoch != epoch:
            member._baseline = _Baseline(epoch, consumed, {m.position: m.counts.counted for m in members})
            member.others = 0.0
            return []
        member.others = (consumed - base.consumed) - (member.counts.at_most - base.counted[member.position])
        if member.others < SHARE_EVIDENCE:
            return []
        peers = [m for m in members if m is not member and m.epoch == epoch]
        ours = sum(m.counts.at_most - base.counted.get(m.position, 0) for m in peers)
        if member.others > ours + SHARE_SLACK:
            return []  # not (only) us: another integration uses this quota too
        return [m for m in peers if m.live and m.others >= SHARE_EVIDENCE]


class CredentialPool:
    def __init__(self, members: Sequence[Member], *, burst_memory: BurstMemory | None = None,
                 wall: Callable[[], float] = time.time):
        """`burst_memory`: an earlier sync's finding that the credentials share one burst window;
        `wall`: the clock that finding's times are read on (epoch seconds)."""
        if not members:
            raise ValueError("a pool needs at least one credential")
        self.members = list(members)
        self._lock = asyncio.Lock()  # FIFO: requests get their credential in order
        self._changed = asyncio.Event()  # a credential was retired or held in reserve, or the pacing changed
        self._detector = ShareDetector()
        first = self.members[0].governor
        self.burst: BurstScope | None = None
        if first.burst_limit is not None:
            self.burst = BurstScope(first.burst_limit, first.burst_seconds, first.clock, first.sleep,
                                    memory=burst_memory, wall=wall)

    @property
    def burst_memory(self) -> BurstMemory | None:
        """The finding about the burst window to keep in the state (None: a window per credential)."""
        return self.burst.memory if self.burst is not None else None

    def _shared_pacing(self, members: Sequence[Member]) -> bool:
        return self.burst is not None and self.burst.paces(len(members))

    # -- choosing a credential -------------------------------------------------------------
    def dispatchable(self) -> list[Member]:
        """The credentials requests go to: live, and the first of those sharing one quota."""
        return [m for m in self.members if m.live and m.leader is m]

    async def acquire(self) -> Lease:
        """Wait for the credential that can send a request soonest and take its turn (and, while the
        credentials share one burst window, first for a slot in it)."""
        async with self._lock:
            while True:
                members = self.dispatchable()
                if not members:
                    raise self._none_left()
                slot = await self.burst.acquire() if self.burst is not None and self._shared_pacing(members) else None
                try:
                    lease = await self._turn(members)
                except BaseException:
                    if slot is not None and self.burst is not None:
                        self.burst.unused(slot)
                    raise
                if lease is None:  # the pool changed meanwhile: choose again
                    if slot is not None and self.burst is not None:
                        self.burst.unused(slot)
                    continue
                if self.burst is not None:
                    lease.slot = slot or self.burst.count()
                return lease

    async def _turn(self, members: list[Member]) -> Lease | None:
        """A credential's turn: one that can send at once (the preferred first), or the first of
        them to admit the request."""
        for member in sorted(members, key=_preference):
            ticket = await member.governor.try_acquire()
            if ticket is not None:
                return self._lease(member, ticket)
        return await self._race(members)

    async def _race(self, members: list[Member]) -> Lease | None:
        """Every credential's governor waits; the first to admit the request wins. None when the
        pool changed meanwhile (a credential retired or held in reserve): choose again."""
        self._changed.clear()
        waits = {asyncio.ensure_future(m.governor.acquire()): m for m in members}
        changed = asyncio.ensure_future(self._changed.wait())
        try:
            await asyncio.wait([*waits, changed], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (*waits, changed):
                task.cancel()
            await asyncio.gather(*waits, changed, return_exceptions=True)
        won = [(m, t.result()) for t, m in waits.items() if not t.cancelled() and t.exception() is None]
        failed = [t.exception() for t in waits if not t.cancelled() and t.exception() is not None]
        if failed:
            for member, ticket in won:
                member.governor.give_back(ticket)
            raise failed[0]  # type: ignore[misc]
        if not won:
            return None
        # Two admitted in the same step: keep the preferred, undo the other's turn.
        won.sort(key=lambda pair: _preference(pair[0]))
        for member, ticket in won[1:]:
            member.governor.give_back(ticket)
        member, ticket = won[0]
        return self._lease(member, ticket)

    def _lease(self, member: Member, ticket: float) -> Lease:
        member.counts.sent += 1
        return Lease(member, ticket)

    # -- after choosing ----------------------------------------------------------------------
    def unsent(self, lease: Lease) -> None:
        """The request was never sent (no token could be had for it): give its turn back."""
        lease.member.counts.sent -= 1
        lease.member.governor.give_back(lease.ticket)
        if lease.slot is not None and self.burst is not None:
            self.burst.unused(lease.slot)

    def observe(self, lease: Lease, status: int, headers: Mapping[str, str], server_date: float | None) -> None:
        """A response came: count it, let the credential's governor learn from its headers, and
        see whether they show a shared quota."""
        member = lease.member
        if status in (401, 429):
            member.counts.uncounted += 1
        else:
            member.counts.counted += 1
        if status != 401:  # no rate-limit headers on a refusal
            member.governor.observe(headers, server_date)
            for peer in self._detector.observe(member, self.members, headers):
                self._shared(member, peer)
        if lease.slot is not None and self.burst is not None:
            quota_left = header_number(headers.get("X-RateLimit-Remaining"))
            if self.burst.observe(lease.slot, status, quota_left, len(self.dispatchable())):
                self._changed.set()  # requests racing the credentials' own windows choose again

    def release(self, lease: Lease) -> None:
        lease.member.governor.release(lease.ticket)
        if lease.slot is not None and self.burst is not None:
            self.burst.release(lease.slot)

    def retire(self, member: Member, error: AuthenticationError) -> None:
        """The credential was refused: no more requests go to it; one held in reserve for it
        takes its place."""
        if not member.live:
            return
        member.retired = error
        self._changed.set()
        left = self.dispatchable()
        if len(self.members) > 1:
            if left:
                log.warning("%s was refused (%s): the sync goes on with %s", _capital(member.label),
                            error.api_message, _labels(left))
            else:
                log.error("%s was refused (%s): no credential is left", _capital(member.label), error.api_message)

    def _shared(self, member: Member, peer: Member) -> None:
        """Two credentials draw on one quota: requests go to the first of them only, the other is
        kept in reserve (it takes over if the first is refused). Said once per credential."""
        if member.group is not None and member.group is peer.group:
            return
        group = (member.group or {member}) | (peer.group or {peer})
        for m in group:
            m.group = group
        self._changed.set()
        leader = member.leader
        reserve = sorted((m for m in group if m is not leader), key=lambda m: m.position)
        if leader is None:
            return
        log.warning("%s draw on one quota (their X-RateLimit headers move together): they belong to one Xurrent user, "
                    "whose limits they share, so %s add%s nothing. Requests go to %s only; the other%s kept in "
                    "reserve. Give each credential of a distinct user.",
                    _capital(_labels(sorted(group, key=lambda m: m.position))), _labels(reserve),
                    "s" if len(reserve) == 1 else "", leader.label, " is" if len(reserve) == 1 else "s are")

    def _none_left(self) -> AuthenticationError:
        refused = [m for m in self.members if m.retired is not None]
        if len(self.members) == 1 and refused:
            return refused[0].retired  # type: ignore[return-value]
        last = refused[-1].retired
        assert last is not None
        reasons = "; ".join(f"{m.label}: {m.retired.api_message}" for m in refused if m.retired is not None)
        return NoCredentialLeft(last.status, last.path, f"all {len(refused)} credentials were refused ({reasons})",
                                hint=_hint(refused[0]))

    # -- what the pool can do ----------------------------------------------------------------
    def useful_in_flight(self, most: int) -> int:
        """Requests in flight that keep every credential's burst limit busy (or the one window they
        share), at most `most`."""
        members = self.dispatchable()
        each = [m.governor.useful_in_flight(most) for m in members]
        useful = max(each, default=1) if self._shared_pacing(members) else sum(each)
        return max(1, min(most, useful))

    def capacities(self) -> list[Capacity]:
        """Each dispatchable credential's limits and quota window, for estimates. While they share
        one burst window, each is given an equal part of its rate."""
        members = self.dispatchable()
        sharing = len(members) if self._shared_pacing(members) else 1
        return [_capacity(m.governor, sharing) for m in members]

    @property
    def stats(self) -> GovernorStats:
        """Every credential's governor counts, summed."""
        total = GovernorStats()
        for m in self.members:
            total.requests += m.governor.stats.requests
            total.throttled += m.governor.stats.throttled
            total.wait_seconds += m.governor.stats.wait_seconds
        return total


def _capacity(governor: RateGovernor, sharing: int = 1) -> Capacity:
    quota = float(governor.hourly_limit) if governor.hourly_limit else math.inf
    budget = governor.budget_per_hour
    return Capacity(
        quota=quota,
        hour=governor.hour_seconds,
        rate=governor.burst_rate / sharing,
        burst_shared_by=sharing,
        remaining=governor.remaining,
        reset_in=governor.reset_in,
        budget_rate=budget / governor.hour_seconds if budget else None,
        budget_burst=governor.budget_burst,
    )


def _preference(member: Member) -> tuple[float, int]:
    """Most quota left first (as Xurrent's own SDKs choose a token), then the configured order."""
    remaining = member.governor.remaining
    return (-(remaining if remaining is not None else math.inf), member.position)


def _labels(members: Sequence[Member]) -> str:
    names = [m.label for m in members]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _hint(member: Member) -> str:
    if member.auth.can_refresh:
        return "check client_id and client_secret: each client must be valid and have access to the account"
    return "the personal access tokens were refused: check oauth_token, and that none is expired or revoked"
