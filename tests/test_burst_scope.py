"""Telling a burst window per user from one per host, on a virtual clock (no waiting, no HTTP): the
rules alone, then a pool against a fake server that counts the burst either way."""

from __future__ import annotations

import asyncio
import collections
import logging
import math
from dataclasses import dataclass, field

import pytest

from tests.virtual_time import run
from xurrent_async.auth import StaticToken
from xurrent_async.burst_scope import (
    EVIDENCE_NEEDED,
    FIRST_RECHECK_SECONDS,
    LONGEST_RECHECK_SECONDS,
    ScopeJudge,
    recheck_at,
)
from xurrent_async.governor import RateGovernor
from xurrent_async.pool import CredentialPool, Member
from xurrent_async.progress import describe_pool
from xurrent_async.state import BurstMemory, SyncState

LIMIT, PERIOD = 20, 2.0
DAY = 86_400.0


# -- the rules ---------------------------------------------------------------------------------
def test_a_few_unexplained_429s_with_no_proof_against_between_them_find_one_shared_window():
    judge = ScopeJudge(LIMIT, PERIOD)
    found = [judge.unexplained_429() for _ in range(EVIDENCE_NEEDED)]
    assert found == [False] * (EVIDENCE_NEEDED - 1) + [True]


def test_more_requests_counted_within_one_window_than_it_holds_void_the_evidence():
    judge = ScopeJudge(LIMIT, PERIOD)
    for _ in range(EVIDENCE_NEEDED - 1):
        judge.unexplained_429()
    # LIMIT + 1 requests sent and answered within 0.5 s: no shared window of LIMIT admits them.
    disproved = [judge.counted(10.0 + i * 0.02, 10.1 + i * 0.02) for i in range(LIMIT + 1)]
    assert disproved == [False] * LIMIT + [True]
    assert judge.unexplained_429() is False  # the evidence starts again from nothing


def test_requests_counted_further_apart_than_one_window_prove_nothing():
    judge = ScopeJudge(LIMIT, PERIOD)
    judge.unexplained_429()
    # 10 per second for a minute: never more than LIMIT sent and answered within one window.
    assert not any(judge.counted(t / 10, t / 10 + 0.05) for t in range(600))
    # Nor do twice LIMIT sent at once and answered more than a window later: they may have arrived
    # in two windows.
    judge = ScopeJudge(LIMIT, PERIOD)
    judge.unexplained_429()
    assert not any(judge.counted(0.0, 2.1 + i * 0.01) for i in range(2 * LIMIT))


def test_a_finding_that_keeps_holding_is_rechecked_less_and_less_often():
    since = 1_000_000.0
    assert recheck_at(since, since) == since + FIRST_RECHECK_SECONDS
    assert recheck_at(since, since + 1200) == since + 2400  # held 20 minutes: next in 20
    assert recheck_at(since, since + 30 * DAY) == since + 30 * DAY + LONGEST_RECHECK_SECONDS


# -- a pool against a fake server --------------------------------------------------------------
@dataclass
class BurstServer:
    """Counts the burst on arrival, per credential ("user") or for every credential together
    ("host"), as a sliding window; 429s carry Retry-After (whole seconds, at least 1). `stray`: a
    429 to every n-th request of credential 1, whatever the windows (another integration, say)."""

    scope: str
    limit: int = LIMIT
    period: float = PERIOD
    stray: int = 0
    windows: dict[str, collections.deque[float]] = field(default_factory=dict)
    arrivals: int = 0
    throttled: int = 0

    def answer(self, position: int, now: float) -> tuple[int, float]:
        self.arrivals += 1
        window = self.windows.setdefault("host" if self.scope == "host" else str(position), collections.deque())
        while window and window[0] <= now - self.period:
            window.popleft()
        if (self.stray and position == 1 and self.arrivals % self.stray == 0) or len(window) >= self.limit:
            self.throttled += 1
            freed = window[len(window) - self.limit] + self.period if len(window) >= self.limit else now + 1
            return 429, max(1.0, math.ceil(freed - now))
        window.append(now)
        return 200, 0.0


def pool_of(n: int, memory: BurstMemory | None = None, wall: float = 1_800_000_000.0) -> CredentialPool:
    loop = asyncio.get_running_loop()
    return CredentialPool([
        Member(f"token {i}", i, StaticToken(f"xpat-{i}"),
               RateGovernor(burst_limit=LIMIT, burst_seconds=PERIOD, hourly_limit=None, clock=loop.time,
                            sleep=asyncio.sleep, label=f"token {i}"))
        for i in range(1, n + 1)], burst_memory=memory, wall=lambda: wall + loop.time())


@dataclass
class Outcome:
    seconds: float
    throttled: int
    by_credential: dict[int, int]
    memory: BurstMemory | None
    shared: bool


async def drive(pool: CredentialPool, server: BurstServer, answered: int, concurrency: int = 8,
                rtt: float = 0.05) -> Outcome:
    """Get `answered` requests answered (a 429 is sent again, as the client does), `concurrency`
    in flight, each arriving half a round trip after it is let through."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    left = [answered]
    by_credential: collections.Counter[int] = collections.Counter()

    async def worker() -> None:
        while left[0] > 0:
            left[0] -= 1
            while True:
                lease = await pool.acquire()
                await asyncio.sleep(rtt / 2)
                status, retry_after = server.answer(lease.member.position, loop.time())
                await asyncio.sleep(rtt / 2)
                pool.observe(lease, status, {"X-RateLimit-Remaining": "1000"}, None)
                pool.release(lease)
                if status != 429:
                    by_credential[lease.member.position] += 1
                    break
                lease.member.governor.on_throttled(retry_after)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    assert pool.burst is not None
    return Outcome(loop.time() - started, server.throttled, dict(by_credential), pool.burst_memory,
                   pool.burst.shared)


def test_against_one_window_per_host_the_pool_switches_after_a_few_429s_and_then_sees_none(caplog):
    caplog.set_level(logging.INFO)

    async def main() -> tuple[Outcome, Outcome, int, int]:
        one = await drive(pool_of(1), BurstServer("host"), 600)
        server = BurstServer("host")
        pool = pool_of(3)
        three = await drive(pool, server, 600)
        assert pool.burst is not None
        return one, three, pool.burst.throttled_before, pool.burst.throttled_paced

    one, three, before, after = run(main)
    said = [r.getMessage() for r in caplog.records if "counted per host" in r.getMessage()]
    assert len(said) == 1
    assert said[0].startswith("The burst limit appears to be counted per host: 3 credentials share one window of "
                              "20 per 2 s")
    assert three.shared and three.memory is not None
    assert one.throttled == 0
    assert before == EVIDENCE_NEEDED and three.throttled <= 10  # and those already in flight then
    assert after == 0  # none on a request paced by the shared window
    assert three.seconds <= one.seconds * 1.05  # as fast as one credential, the most one window allows
    assert min(three.by_credential.values()) >= 150  # the quotas are still spread over the users


def test_against_windows_per_user_stray_429s_never_make_the_pool_share_one_window(caplog):
    caplog.set_level(logging.INFO)

    async def main() -> tuple[Outcome, Outcome]:
        clean = await drive(pool_of(3), BurstServer("user"), 900)
        stray = await drive(pool_of(3), BurstServer("user", stray=7), 900)
        return clean, stray

    clean, stray = run(main)
    assert "counted per host" not in caplog.text
    assert not stray.shared and stray.memory is None
    assert stray.throttled >= 3 * EVIDENCE_NEEDED  # plenty of unexplained 429s, each disproved by the traffic
    assert clean.throttled == 0
    # Three windows' speed (each stray 429 pauses credential 1 for a second, at most that).
    assert stray.seconds <= clean.seconds * 1.3


def test_a_remembered_shared_window_paces_the_pool_from_its_first_request():
    async def main() -> Outcome:
        memory = BurstMemory(since=1_800_000_000 - 60, recheck=1_800_000_000 + 3600)
        return await drive(pool_of(3, memory), BurstServer("host"), 300)

    outcome = run(main)
    assert outcome.throttled == 0 and outcome.shared
    assert outcome.seconds == pytest.approx(300 / 10, rel=0.1)


def test_a_due_recheck_against_windows_per_user_withdraws_the_finding_and_the_pool_speeds_up(caplog):
    caplog.set_level(logging.INFO)

    async def main() -> tuple[Outcome, Outcome]:
        memory = BurstMemory(since=1_800_000_000 - 7200, recheck=1_800_000_000 - 1)  # due at once
        rechecked = await drive(pool_of(3, memory), BurstServer("user"), 900)
        fresh = await drive(pool_of(3), BurstServer("user"), 900)
        return rechecked, fresh

    rechecked, fresh = run(main)
    assert not rechecked.shared and rechecked.memory is None and rechecked.throttled == 0
    assert "counted per credential after all" in caplog.text
    assert rechecked.seconds <= fresh.seconds + 2 * PERIOD  # the re-check cost a window at most


def test_a_due_recheck_against_one_window_per_host_costs_one_429_and_pushes_the_next_one_out(caplog):
    caplog.set_level(logging.INFO)
    since = 1_800_000_000 - 1200

    async def main() -> Outcome:
        memory = BurstMemory(since=since, recheck=1_800_000_000 - 1)
        return await drive(pool_of(3, memory), BurstServer("host"), 300)

    outcome = run(main)
    assert outcome.shared and outcome.throttled == 1
    assert outcome.memory is not None and outcome.memory.since == since
    assert outcome.memory.recheck >= 1_800_000_000 + 1200  # held 20 minutes: the next in 20 or more
    assert "Re-checked the burst limit: still one window for every credential" in caplog.text


def test_the_time_left_follows_one_shared_window():
    async def main() -> tuple[list, list]:
        per_user = pool_of(3)
        per_host = pool_of(3, BurstMemory(since=0, recheck=4_000_000_000))
        return per_user.capacities(), per_host.capacities()

    per_user, per_host = run(main)
    assert sum(c.rate for c in per_user) == pytest.approx(30.0)
    assert sum(c.rate for c in per_host) == pytest.approx(10.0)  # one window of 20 per 2 s for all three
    assert describe_pool(per_host).startswith("3 credentials, one burst window, ")


# -- the memory --------------------------------------------------------------------------------
def test_the_burst_finding_is_kept_in_the_state_and_a_state_without_it_reads_as_a_window_per_user():
    state = SyncState.from_json({"format": 2, "streams": {}}, ("products",))
    assert state.burst is None  # a state of an earlier version
    state.burst = BurstMemory(since=1_800_000_000, recheck=1_800_000_600)
    saved = state.to_json()
    assert saved["burst"] == {"counted": "per host", "since": "2027-01-15T08:00:00Z", "recheck": "2027-01-15T08:10:00Z"}
    assert SyncState.from_json(saved, ("products",)).burst == state.burst


def test_an_unreadable_burst_finding_is_forgotten_with_a_warning(caplog):
    state = SyncState.from_json({"format": 2, "streams": {}, "burst": {"since": "yesterday"}}, ("products",))
    assert state.burst is None
    assert "burst finding is unreadable" in caplog.text
