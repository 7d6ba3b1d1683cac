"""A pool of credentials, each with its own governor and token provider, shared by every stream.

Xurrent's limits belong to the authenticated user, so credentials of several users (or OAuth
applications) multiply what a sync may send. Every request goes to the credential that can send it
soonest: one that can send at once, the one with the most quota left first; otherwise the
credentials' governors race and the first to admit the request takes it (the others are cancelled,
which leaves nothing taken). Requests wait their turn in order.

A 429 pauses only the credential that got it (its governor). A refused credential is retired, said
in the log by its position, and the sync goes on with the others; when none is left, the sync fails
naming each. When the X-RateLimit headers show two credentials drawing on one quota (tokens of one
user: what one sends shows on the other's quota, shared_quota.py), the log says so once and the
second is held in reserve: it adds nothing, and sending on both would only run into the user's
limits twice as fast. A reserve is probed with one request now and then; when its headers prove the
verdict wrong (another integration of its user had moved them), the log says so and it is used again.

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
from xurrent_async.errors import ApiError, AuthenticationError
from xurrent_async.estimate import Capacity
from xurrent_async.governor import GovernorStats, RateGovernor, header_number
from xurrent_async.shared_quota import Answer, Counts, QuotaJudge
from xurrent_async.state import BurstMemory

log = logging.getLogger(__name__)

# How often a credential held in reserve (taken to share a quota with the one in use) is probed
# with one request, so that its headers can withdraw a wrong verdict (shared_quota.py).
PROBE_SECONDS = 5.0


@dataclass(eq=False)
class Member:
    label: str  # "token 2": the credential's kind and position, never its value
    position: int
    auth: TokenProvider
    governor: RateGovernor
    counts: Counts = field(default_factory=Counts)
    retired: ApiError | None = None  # why it was given up: refused, or its token endpoint kept failing
    fetching: asyncio.Task[None] | None = None  # getting it a token: no turn goes to it meanwhile
    group: set[Member] | None = None  # the credentials known to share its user's quota (itself included)
    probed_at: float = 0.0  # when it was last probed (or put in reserve), on the governors' clock

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
    counted_at_send: dict[int, int]  # every credential's Counts.counted when the request went out
    answers_at_send: int = 0  # how many answers with quota headers the pool had then
    slot: Slot | None = None  # its place in the pool-wide burst window (None: the pool has none)
    # A probe of a credential in reserve also takes a turn of the credential in use: if they are
    # one user (the verdict), the probe spends that user's limits, which that governor keeps.
    leader_turn: tuple[Member, float] | None = None


class NoCredentialLeft(AuthenticationError):
    """Every credential of the pool was refused."""


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
        self._judge = QuotaJudge()
        self._answers = 0  # answers with quota headers so far, to tell which came before a request went out
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
        """The credentials requests go to: live, the first of those sharing one quota, and not
        waiting for a token."""
        return [m for m in self.members if m.live and m.leader is m and m.fetching is None]

    async def acquire(self) -> Lease:
        """Wait for the credential that can send a request soonest and take its turn (and, while the
        credentials share one burst window, first for a slot in it)."""
        async with self._lock:
            while True:
                members = self.dispatchable()
                if not members:
                    await self._wait_for_a_credential()
                    continue
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
        """A credential's turn: a reserve due for a probe, one that can send at once (the preferred
        first), or the first of them to admit the request."""
        probe = await self._probe()
        if probe is not None:
            return probe
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

    async def _probe(self) -> Lease | None:
        """A turn for a credential held in reserve whose probe is due, if it and the credential in
        use can both send at once (nothing waits for a probe)."""
        for reserve in self.members:
            leader = reserve.leader
            if leader is None or leader is reserve or not reserve.live:
                continue
            now = reserve.governor.clock()
            if now - reserve.probed_at < PROBE_SECONDS:
                continue
            ticket = await reserve.governor.try_acquire()
            if ticket is None:
                continue
            turn = await leader.governor.try_acquire()
            if turn is None:
                reserve.governor.give_back(ticket)
                continue
            reserve.probed_at = now
            lease = self._lease(reserve, ticket)
            lease.leader_turn = (leader, turn)
            return lease
        return None

    async def _wait_for_a_credential(self) -> None:
        """None is dispatchable: fail when none is live, else wait until a token comes (or the pool
        changes otherwise)."""
        if not any(m.live for m in self.members):
            raise self._none_left()
        self._changed.clear()
        if not self.dispatchable():
            await self._changed.wait()

    def fetch_token(self, member: Member, stale: str | None = None) -> None:
        """Get the credential a token (a fresh one, after `stale` was refused) in the background: no
        turn goes to it until it has one, so the requests go to the others meanwhile; one whose
        token endpoint refuses it, or keeps failing, is given up."""
        if member.fetching is None and member.live:
            member.fetching = asyncio.ensure_future(self._fetch_token(member, stale))
            self._changed.set()

    async def _fetch_token(self, member: Member, stale: str | None) -> None:
        try:
            await (member.auth.refresh(stale) if stale is not None else member.auth.token())
        except ApiError as exc:
            self.retire(member, exc)
        finally:
            member.fetching = None
            self._changed.set()

    async def aclose(self) -> None:
        """Stop the token fetches still running (the sync is over)."""
        tasks = [m.fetching for m in self.members if m.fetching is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for member in self.members:
            member.auth.cancel()

    def _lease(self, member: Member, ticket: float) -> Lease:
        member.counts.sent += 1
        return Lease(member, ticket, {m.position: m.counts.counted for m in self.members}, self._answers)

    # -- after choosing ----------------------------------------------------------------------
    def unsent(self, lease: Lease) -> None:
        """The request was never sent (no token could be had for it): give its turn back."""
        lease.member.counts.sent -= 1
        lease.member.governor.give_back(lease.ticket)
        if lease.leader_turn is not None:
            leader, turn = lease.leader_turn
            leader.governor.give_back(turn)
            lease.leader_turn = None
        if lease.slot is not None and self.burst is not None:
            self.burst.unused(lease.slot)

    def not_counted(self, lease: Lease) -> None:
        """The request got no answer because the connection failed: taken as one the server did not
        count, so its quota unit is given back."""
        lease.member.counts.uncounted += 1
        lease.member.governor.not_counted()

    def observe(self, lease: Lease, status: int, headers: Mapping[str, str], server_date: float | None) -> None:
        """A response came: count it, let the credential's governor learn from its headers, and
        see whether they show a shared quota."""
        member = lease.member
        if status in (401, 429):
            member.counts.uncounted += 1
            member.governor.not_counted()  # before its headers, which may say less is left
        elif status < 500:  # a 5xx (a proxy's, say) may never have reached the API
            member.counts.counted += 1
        if status != 401:  # no rate-limit headers on a refusal
            member.governor.observe(headers, server_date)
            self._judge_quota(lease, headers)
        if lease.slot is not None and self.burst is not None:
            quota_left = header_number(headers.get("X-RateLimit-Remaining"))
            if self.burst.observe(lease.slot, status, quota_left, len(self.dispatchable())):
                self._changed.set()  # requests racing the credentials' own windows choose again

    def release(self, lease: Lease) -> None:
        lease.member.governor.release(lease.ticket)
        if lease.leader_turn is not None:
            leader, turn = lease.leader_turn
            leader.governor.release(turn)
        if lease.slot is not None and self.burst is not None:
            self.burst.release(lease.slot)

    def retire(self, member: Member, error: ApiError) -> None:
        """The credential was refused (an AuthenticationError), or its token endpoint kept failing:
        no more requests go to it; one held in reserve for it takes its place."""
        if not member.live:
            return
        member.retired = error
        self._changed.set()
        left = [m for m in self.members if m.live and m.leader is m]
        what = "was refused" if isinstance(error, AuthenticationError) else "is given up"
        if len(self.members) > 1:
            if left:
                log.warning("%s %s (%s): the sync goes on with %s", _capital(member.label), what,
                            error.api_message, _labels(left))
            else:
                log.error("%s %s (%s): no credential is left", _capital(member.label), what, error.api_message)

    def _judge_quota(self, lease: Lease, headers: Mapping[str, str]) -> None:
        """Whether the response's quota headers show its credential sharing a quota with another,
        or prove that it does not (shared_quota.py)."""
        limit = header_number(headers.get("X-RateLimit-Limit"))
        remaining = header_number(headers.get("X-RateLimit-Remaining"))
        epoch = header_number(headers.get("X-RateLimit-Reset"))
        if limit is None or remaining is None or epoch is None:
            return
        answer = Answer(lease.member.position, epoch, limit - remaining, lease.counted_at_send,
                        {m.position: m.counts.at_most for m in self.members}, self._answers, lease.answers_at_send)
        self._answers += 1
        found = self._judge.observe(answer)
        by_position = {m.position: m for m in self.members}
        for a, b in found.distinct:
            self._separate(by_position[a], by_position[b])
        for a, b in found.shared:
            self._shared(by_position[a], by_position[b])

    def _separate(self, member: Member, peer: Member) -> None:
        """Two credentials taken to share a quota proved not to: the one held in reserve is used again."""
        group = member.group
        if group is None or peer not in group:
            return
        leader = member.leader or member
        leaving = peer if member is leader else member if peer is leader else max(member, peer, key=_position)
        rest = group - {leaving}
        for m in rest:
            m.group = rest if len(rest) > 1 else None
        leaving.group = None
        self._changed.set()
        log.warning("%s does not draw on %s's quota after all: its X-RateLimit headers no longer follow %s's "
                    "requests (what had moved them was another integration of its user). Requests go to %s again.",
                    _capital(leaving.label), leader.label, leader.label, leaving.label)

    def _shared(self, member: Member, peer: Member) -> None:
        """Two credentials draw on one quota: requests go to the first of them only, the other is
        kept in reserve (it takes over if the first is refused, and is probed now and then). Said
        once per credential."""
        if member.group is not None and member.group is peer.group:
            return
        group = (member.group or {member}) | (peer.group or {peer})
        now = member.governor.clock()
        for m in group:
            m.group = group
            m.probed_at = now  # the first probe of a reserve comes PROBE_SECONDS from now
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

    def _none_left(self) -> ApiError:
        given_up = [m for m in self.members if m.retired is not None]
        errors = [m.retired for m in given_up if m.retired is not None]
        if len(self.members) == 1 and errors:
            return errors[0]
        last = errors[-1]
        reasons = "; ".join(f"{m.label}: {m.retired.api_message}" for m in given_up if m.retired is not None)
        if all(isinstance(e, AuthenticationError) for e in errors):
            return NoCredentialLeft(last.status, last.path, f"all {len(errors)} credentials were refused ({reasons})",
                                    hint=_hint(given_up[0]))
        # Not every one was refused: some token endpoint kept failing, which a rerun later may not meet.
        down = next(e for e in errors if not isinstance(e, AuthenticationError))
        return ApiError(down.status, down.path, f"no credential is left ({reasons})", hint=down.hint)

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


def _preference(member: Member) -> tuple[float, int, int]:
    """Most quota left first (as Xurrent's own SDKs choose a token), then the one that sent fewest
    (credentials whose headers report one quota take turns, so each shows what the other sends),
    then the configured order."""
    remaining = member.governor.remaining
    return (-(remaining if remaining is not None else math.inf), member.counts.sent, member.position)


def _position(member: Member) -> int:
    return member.position


def _labels(members: Sequence[Member]) -> str:
    names = [m.label for m in members]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _hint(member: Member) -> str:
    if member.auth.can_refresh:
        return "check client_id and client_secret: each client must be valid and have access to the account"
    return "the personal access tokens were refused: check oauth_token, and that none is expired or revoked"
