"""The pool of credentials on a virtual clock (no waiting, no HTTP): where each request goes, what a
429 or a refusal does to the others, the per-credential budget, and telling two tokens of one user
from the headers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import pytest

from tests.virtual_time import run
from xurrent_async.auth import StaticToken
from xurrent_async.errors import AuthenticationError
from xurrent_async.governor import RateGovernor
from xurrent_async.pool import CredentialPool, Lease, Member, NoCredentialLeft
from xurrent_async.shared_quota import SHARE_EVIDENCE

SECRETS = ("xpat-one-5d1f9a", "xpat-two-83be20", "xpat-three-c47a11")


def pool_of(n: int, **governor: object) -> CredentialPool:
    """n personal tokens; the governors run on the loop's (virtual) clock."""
    loop = asyncio.get_running_loop()
    governor.setdefault("burst_limit", 20)
    governor.setdefault("hourly_limit", None)
    return CredentialPool([
        Member(f"token {i}", i, StaticToken(SECRETS[i - 1]),
               RateGovernor(clock=loop.time, sleep=asyncio.sleep, label=f"token {i}", **governor))  # type: ignore[arg-type]
        for i in range(1, n + 1)])


async def send(pool: CredentialPool, rtt: float = 0.1, headers: Mapping[str, str] | None = None) -> Lease:
    """One request through the pool: a credential's turn, a round trip, the response."""
    lease = await pool.acquire()
    await asyncio.sleep(rtt)
    pool.observe(lease, 200, headers or {}, None)
    pool.release(lease)
    return lease


async def sent_times(pool: CredentialPool, requests: int, concurrency: int = 8) -> dict[int, list[float]]:
    """Send `requests` with `concurrency` in flight; when (seconds from the start) each credential
    let each one through."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    times: dict[int, list[float]] = {m.position: [] for m in pool.members}
    queue = list(range(requests))

    async def worker() -> None:
        while queue:
            queue.pop()
            lease = await pool.acquire()
            times[lease.member.position].append(loop.time() - started)
            await asyncio.sleep(0.1)
            pool.observe(lease, 200, {}, None)
            pool.release(lease)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return times


def max_in_any_window(times: list[float], window: float) -> int:
    return max((sum(1 for t in times if start <= t < start + window) for start in times), default=0)


def test_three_credentials_send_three_times_what_one_may_and_each_keeps_its_own_burst_limit():
    async def main() -> tuple[dict[int, list[float]], dict[int, list[float]]]:
        return await sent_times(pool_of(1), 200), await sent_times(pool_of(3), 600)

    one, three = run(main)
    last_one = max(one[1])
    last_three = max(max(t) for t in three.values())
    # The same number of requests per credential takes the same time: three send three times as many.
    assert [len(t) for t in three.values()] == [200, 200, 200]
    assert last_three == pytest.approx(last_one, rel=0.05)
    for times in three.values():
        assert max_in_any_window(times, 2.0) <= 20  # each credential stays inside its own burst window


def test_a_429_pauses_only_its_credential_and_the_others_carry_the_requests():
    async def main() -> tuple[dict[int, list[float]], float]:
        pool = pool_of(3)
        paused = pool.members[1]
        paused.governor.on_throttled(30.0)  # token 2 got a 429 with Retry-After: 30
        times = await sent_times(pool, 300)
        return times, max(max(t) for t in times.values() if t)

    times, last = run(main)
    assert last < 30  # the sync did not wait for token 2
    assert times[2] == []
    assert len(times[1]) + len(times[3]) == 300


def test_when_every_credential_can_send_the_one_with_most_quota_left_goes_first():
    async def main() -> list[int]:
        pool = pool_of(3, hourly_limit=3600)
        # The server said how much each has left (another integration of user 1 used most of its).
        for member, remaining in zip(pool.members, ("100", "3000", "2000"), strict=True):
            member.governor.observe({"X-RateLimit-Remaining": remaining, "X-RateLimit-Reset": "9999999999"}, None)
        order = []
        for _ in range(3):
            lease = await pool.acquire()
            order.append(lease.member.position)
            pool.release(lease)
        return order

    assert run(main) == [2, 2, 2]  # still far more left than the others after a few requests


def test_a_refused_credential_is_retired_by_position_and_the_rest_carry_on(caplog):
    caplog.set_level(logging.WARNING)

    async def main() -> tuple[dict[int, list[float]], BaseException | None]:
        pool = pool_of(3)
        refused = pool.members[0]
        pool.retire(refused, AuthenticationError(401, "/v1/projects", "Unauthorized"))
        times = await sent_times(pool, 60)
        for member in pool.members[1:]:
            pool.retire(member, AuthenticationError(401, "/v1/projects", "Unauthorized"))
        try:
            await pool.acquire()
        except NoCredentialLeft as exc:
            return times, exc
        return times, None

    times, error = run(main)
    assert times[1] == [] and len(times[2]) + len(times[3]) == 60
    assert "Token 1 was refused (Unauthorized): the sync goes on with token 2 and token 3" in caplog.text
    assert isinstance(error, NoCredentialLeft)
    assert "all 3 credentials were refused (token 1: Unauthorized; token 2: Unauthorized; token 3: " in str(error)
    for secret in SECRETS:
        assert secret not in caplog.text and secret not in str(error)


def test_a_single_refused_credential_fails_with_its_own_error():
    async def main() -> BaseException:
        pool = pool_of(1)
        refusal = AuthenticationError(401, "/v1/projects", "Unauthorized", hint="the personal access token was refused")
        pool.retire(pool.members[0], refusal)
        with pytest.raises(AuthenticationError) as caught:
            await pool.acquire()
        return caught.value

    error = run(main)
    assert "personal access token was refused" in str(error) and not isinstance(error, NoCredentialLeft)


def test_a_request_waiting_for_a_credential_moves_on_when_that_credential_is_retired():
    async def main() -> int:
        pool = pool_of(2, burst_limit=1)
        first, second = await pool.acquire(), await pool.acquire()  # both windows now full
        waiting = asyncio.ensure_future(pool.acquire())
        await asyncio.sleep(0.01)
        pool.release(first)
        pool.retire(first.member, AuthenticationError(401, "/v1/projects", "Unauthorized"))
        pool.release(second)
        lease = await waiting
        return lease.member.position

    assert run(main) == 2


def test_two_credentials_admitted_in_the_same_step_keep_one_and_give_the_other_its_turn_back():
    async def main() -> tuple[int, list[float | None]]:
        pool = pool_of(2, burst_limit=1, hourly_limit=100)
        a, b = await pool.acquire(), await pool.acquire()
        waiting = asyncio.ensure_future(pool.acquire())
        await asyncio.sleep(0)
        pool.release(a)
        pool.release(b)  # both slots free again two seconds from now, at the same moment
        lease = await waiting
        return lease.member.position, [m.governor.remaining for m in pool.members]

    position, remaining = run(main)
    assert position == 1
    assert remaining == [98, 99]  # token 2's turn was undone: its quota counts one request, not two


def test_useful_concurrency_adds_up_over_the_credentials():
    async def main() -> tuple[int, int]:
        one, three = pool_of(1), pool_of(3)
        for pool in (one, three):
            await sent_times(pool, 30, concurrency=1)  # round trips of 0.1 s
        return one.useful_in_flight(8), three.useful_in_flight(8)

    one, three = run(main)
    # 10/s × 0.1 s, doubled: 2 each (3 where float rounding tips the ceiling), summed over credentials.
    assert 2 <= one <= 3 and 6 <= three <= 9


# -- the budget ----------------------------------------------------------------------------------
def test_a_budget_keeps_a_credential_to_its_average_rate_after_a_burst_allowance():
    async def main() -> list[float]:
        # 120 requests per "hour" of 60 s, far below the burst limit's 10/s.
        pool = pool_of(1, burst_limit=20, hourly_limit=3600, hour_seconds=60.0, budget_per_hour=120)
        times = await sent_times(pool, 100, concurrency=30)
        return times[1]

    times = run(main)
    assert times[:20] == [0.0] * 20  # the allowance: as many at once as the burst limit
    rate = (len(times) - 20) / (times[-1] - times[19])
    assert rate == pytest.approx(2.0, rel=0.02)  # then 120 per 60 s
    # Over any minute: at most the budget plus the allowance.
    assert max(sum(1 for t in times if start <= t < start + 60) for start in times) <= 120 + 20


def test_a_budget_per_credential_applies_to_each_and_the_pool_uses_them_all():
    async def main() -> dict[int, list[float]]:
        return await sent_times(pool_of(3, burst_limit=20, hour_seconds=60.0, budget_per_hour=60), 120, concurrency=30)

    times = run(main)
    assert all(len(t) == 40 for t in times.values())
    for t in times.values():
        assert t[-1] == pytest.approx(20.0, abs=1.5)  # 20 at once, then one a second


# -- telling a shared user from the headers -------------------------------------------------------
class Server:
    """X-RateLimit headers as the API would send them for credentials owned by `users`."""

    def __init__(self, users: list[int], limit: int = 3600):
        self.users = users  # credential position -> user
        self.limit = limit
        self.used: dict[int, int] = {}

    def answer(self, position: int, extra: int = 0) -> dict[str, str]:
        user = self.users[position - 1]
        self.used[user] = self.used.get(user, 0) + 1 + extra
        return {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.limit - self.used[user]),
                "X-RateLimit-Reset": "1800000000"}


def share_run(users: list[int], requests: int, other_traffic: dict[int, int] | None = None
              ) -> tuple[CredentialPool, dict[int, int]]:
    async def main() -> tuple[CredentialPool, dict[int, int]]:
        pool = pool_of(len(users), hourly_limit=3600)
        server = Server(users)
        served = {m.position: 0 for m in pool.members}
        for _ in range(requests):
            lease = await pool.acquire()
            position = lease.member.position
            served[position] += 1
            await asyncio.sleep(0.05)
            pool.observe(lease, 200, server.answer(position, (other_traffic or {}).get(position, 0)), None)
            pool.release(lease)
        return pool, served

    return run(main)


def test_two_tokens_of_one_user_are_told_once_and_the_second_is_kept_in_reserve(caplog):
    caplog.set_level(logging.WARNING)
    pool, served = share_run([1, 1, 2], 300)
    said = [r.getMessage() for r in caplog.records if "draw on one quota" in r.getMessage()]
    assert len(said) == 1
    assert said[0].startswith("Token 1 and token 2 draw on one quota")
    assert "Requests go to token 1 only" in said[0]
    assert [m.position for m in pool.dispatchable()] == [1, 3]
    assert served[2] < 4 * SHARE_EVIDENCE  # noticed within a few requests, then nothing more
    for secret in SECRETS:
        assert secret not in caplog.text


def test_when_the_credential_in_use_is_refused_its_reserve_takes_over():
    pool, _ = share_run([1, 1], 100)
    assert [m.position for m in pool.dispatchable()] == [1]
    pool.retire(pool.members[0], AuthenticationError(401, "/v1/products", "Unauthorized"))
    assert [m.position for m in pool.dispatchable()] == [2]


def test_three_tokens_of_one_user_leave_one_in_use(caplog):
    caplog.set_level(logging.WARNING)
    pool, _ = share_run([7, 7, 7], 300)
    assert [m.position for m in pool.dispatchable()] == [1]
    assert 1 <= sum("draw on one quota" in r.getMessage() for r in caplog.records) <= 2


def test_distinct_users_are_never_taken_for_one(caplog):
    caplog.set_level(logging.WARNING)
    pool, served = share_run([1, 2, 3], 600)
    assert "draw on one quota" not in caplog.text
    assert len(pool.dispatchable()) == 3 and min(served.values()) >= 150


def test_another_integration_on_one_users_quota_is_not_taken_for_a_shared_user(caplog):
    caplog.set_level(logging.WARNING)
    # Besides our requests, something else spends 3 requests of user 1's quota per request of ours.
    pool, _ = share_run([1, 2], 400, other_traffic={1: 3})
    assert "draw on one quota" not in caplog.text
    assert len(pool.dispatchable()) == 2


def test_a_wait_cancelled_at_any_moment_leaves_nothing_taken():
    async def main() -> list[tuple[float | None, int]]:
        loop = asyncio.get_running_loop()
        g = RateGovernor(burst_limit=2, burst_seconds=2.0, hourly_limit=10, hour_seconds=60, budget_per_hour=600,
                         clock=loop.time, sleep=asyncio.sleep)
        held = [await g.acquire(), await g.acquire()]  # the burst window and the budget's allowance are full
        seen = []
        for moment in (0.0, 0.05, 1.0, 2.5):  # waiting for the window, for the budget, ...
            waiter = asyncio.ensure_future(g.acquire())
            await asyncio.sleep(moment)
            if not waiter.done():
                waiter.cancel()
                await asyncio.gather(waiter, return_exceptions=True)
            else:
                g.give_back(waiter.result())
            seen.append((g.remaining, g.stats.requests))
        for ticket in held:
            g.release(ticket)
        return seen

    assert run(main) == [(8, 2)] * 4


# -- other integrations, and verdicts withdrawn ----------------------------------------------------
class BusyServer:
    """X-RateLimit headers for credentials of distinct users, each user's quota also spent by another
    integration: `per_second` of them on the loop's clock, or (`mirror`) exactly what our other
    credential has sent, which makes two users look like one until it stops."""

    def __init__(self, credentials: int, per_second: float = 0.0, mirror: bool = False):
        self.sent = dict.fromkeys(range(1, credentials + 1), 0)
        self.per_second = per_second
        self.mirror = mirror
        self.frozen: dict[int, int] = {}
        self.start = asyncio.get_running_loop().time()

    def stop_mirroring(self) -> None:
        self.frozen = {p: self._mirrored(p) for p in self.sent}
        self.mirror = False

    def _mirrored(self, position: int) -> int:
        return sum(n for p, n in self.sent.items() if p != position)

    def answer(self, position: int) -> dict[str, str]:
        self.sent[position] += 1
        outside = int(self.per_second * (asyncio.get_running_loop().time() - self.start))
        outside += self._mirrored(position) if self.mirror else self.frozen.get(position, 0)
        used = self.sent[position] + outside
        return {"X-RateLimit-Limit": "100000", "X-RateLimit-Remaining": str(100_000 - used),
                "X-RateLimit-Reset": "1800000000"}


async def busy_run(pool: CredentialPool, server: BusyServer, requests: int, concurrency: int = 8,
                   then: object = None) -> dict[int, int]:
    """`requests` through the pool, `concurrency` in flight, 0.1 s each; `then()` is called once, as
    soon as the pool holds a credential in reserve."""
    served = dict.fromkeys(server.sent, 0)
    left = [requests]

    async def worker() -> None:
        while left[0] > 0:
            left[0] -= 1
            lease = await pool.acquire()
            await asyncio.sleep(0.05)
            headers = server.answer(lease.member.position)
            await asyncio.sleep(0.05)
            pool.observe(lease, 200, headers, None)
            pool.release(lease)
            served[lease.member.position] += 1
            if callable(then) and len(pool.dispatchable()) < len(pool.members):
                then()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return served


def test_distinct_users_whose_other_integrations_spend_on_their_quotas_each_carry_a_share(caplog):
    caplog.set_level(logging.WARNING)

    async def main() -> tuple[CredentialPool, dict[int, int]]:
        pool = pool_of(3, hourly_limit=100_000)
        return pool, await busy_run(pool, BusyServer(3, per_second=1.0), 1800)

    pool, served = run(main)
    assert "draw on one quota" not in caplog.text
    assert len(pool.dispatchable()) == 3 and min(served.values()) >= 500


def test_a_verdict_the_headers_stop_supporting_is_withdrawn_at_the_reserves_next_probe(caplog):
    caplog.set_level(logging.WARNING)

    async def main() -> tuple[CredentialPool, dict[int, int]]:
        pool = pool_of(2, hourly_limit=100_000)
        server = BusyServer(2, mirror=True)  # each quota moves by what the other credential sends
        stopped: list[bool] = []

        def stop() -> None:
            if not stopped:
                stopped.append(True)
                server.stop_mirroring()

        await busy_run(pool, server, 300, then=stop)
        assert stopped, "the mirrored quotas never made the pool hold a credential in reserve"
        return pool, await busy_run(pool, server, 1200)  # 60 s: several probes of the reserve

    pool, after = run(main)
    said = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("Token 1 and token 2 draw on one quota") for line in said)
    assert any(line.startswith("Token 2 does not draw on token 1's quota after all") for line in said)
    assert len(pool.dispatchable()) == 2
    assert after[2] >= 400  # the reserve carries its share again
