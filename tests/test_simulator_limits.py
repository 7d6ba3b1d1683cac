"""Per-user rate limits of the simulator, driven by a FakeClock (no real waiting)."""

from __future__ import annotations

import asyncio
import math
from email.utils import parsedate_to_datetime

import aiohttp
import pytest

from tests.conftest import headers
from xurrent_async.simulator import FakeClock, FaultConfig, SimConfig, running_simulator


async def get(bare_session: aiohttp.ClientSession, url: str, token: str = "sim-token") -> tuple[int, dict, object]:
    async with bare_session.get(url, headers=headers(token)) as r:
        return r.status, dict(r.headers), await r.json()


async def test_burst_limit_gives_429_with_retry_after_and_frees_up(bare_session) -> None:
    clock = FakeClock(1_000_000.0)
    config = SimConfig(records=10, burst_limit=3, burst_seconds=2.0, hourly_limit=100)
    async with running_simulator(config, clock=clock) as sim:
        url = f"{sim.base_url}/products"
        for i in range(3):
            status, h, _ = await get(bare_session, url)
            assert status == 200
            assert (h["X-RateLimit-Limit"], h["X-RateLimit-Remaining"]) == ("100", str(99 - i))
            assert h["X-RateLimit-Reset"] == str(1_000_000 + 3600)
        clock.advance(0.5)
        status, h, body = await get(bare_session, url)
        assert (status, body, h["Retry-After"]) == (429, {"message": "Too Many Requests"}, "2")
        assert h["X-RateLimit-Remaining"] == "97"  # a rejected request uses no quota
        clock.advance(1.4)
        status, h, _ = await get(bare_session, url)
        assert (status, h["Retry-After"]) == (429, "1")  # ceil(0.1), at least 1
        clock.set(1_000_002.0)  # the first three requests leave the 2 s window
        status, h, _ = await get(bare_session, url)
        assert status == 200 and h["X-RateLimit-Remaining"] == "96"
        assert sim.stats.rate_limited == 2 and sim.stats.by_status == {200: 4, 429: 2}


async def test_hourly_window_opens_with_the_first_request_and_resets(bare_session) -> None:
    clock = FakeClock(2_000_000.25)
    config = SimConfig(records=10, burst_limit=None, hourly_limit=5, hour_seconds=60)
    async with running_simulator(config, clock=clock) as sim:
        url = f"{sim.base_url}/organizations"
        clock.advance(100)  # the window opens at the first request, not at start-up
        start = clock.now()
        for i in range(5):
            status, h, _ = await get(bare_session, url)
            assert status == 200 and h["X-RateLimit-Remaining"] == str(4 - i)
            assert h["X-RateLimit-Reset"] == str(math.ceil(start + 60))
            clock.advance(1)
        clock.advance(10)
        status, h, _ = await get(bare_session, url)
        assert status == 429 and h["Retry-After"] == str(math.ceil(start + 60 - clock.now()))
        assert h["X-RateLimit-Remaining"] == "0"
        clock.set(float(h["X-RateLimit-Reset"]))
        status, h, _ = await get(bare_session, url)
        assert status == 200 and h["X-RateLimit-Remaining"] == "4"
        assert h["X-RateLimit-Reset"] == str(math.ceil(clock.now() + 60))


async def test_retry_after_can_be_an_http_date(bare_session) -> None:
    clock = FakeClock(3_000_000.0)
    faults = FaultConfig(retry_after_http_date=1.0)
    config = SimConfig(records=10, burst_limit=1, burst_seconds=30, hourly_limit=None, faults=faults)
    async with running_simulator(config, clock=clock) as sim:
        await get(bare_session, f"{sim.base_url}/projects")
        clock.advance(4.5)
        status, h, _ = await get(bare_session, f"{sim.base_url}/projects")
        assert status == 429
        retry_at = parsedate_to_datetime(h["Retry-After"]).timestamp()
        assert retry_at == 3_000_030 and parsedate_to_datetime(h["Date"]).timestamp() == 3_000_004
        assert "X-RateLimit-Limit" not in h  # the hourly limit is off: nothing to report


async def test_the_quota_is_the_users_tokens_of_one_user_share_it_and_other_users_have_their_own(bare_session) -> None:
    clock = FakeClock(4_000_000.0)
    config = SimConfig(records=10, tokens=("alpha", "alpha-2", "beta"), users={"alice": ("alpha", "alpha-2")},
                       oauth_clients={"app": "app-secret"}, burst_limit=None, hourly_limit=3)
    async with running_simulator(config, clock=clock) as sim:
        url = f"{sim.base_url}/products"
        status, h, _ = await get(bare_session, url, "alpha")
        assert status == 200 and h["X-RateLimit-Remaining"] == "2"
        status, h, _ = await get(bare_session, url, "alpha-2")  # the same user: the same quota
        assert status == 200 and h["X-RateLimit-Remaining"] == "1"
        assert [(await get(bare_session, url, t))[0] for t in ("alpha", "alpha-2")] == [200, 429]
        assert (await get(bare_session, url, "beta"))[0] == 200  # another user: a quota of its own
        # Access tokens issued to one OAuth client are that client's user's: they share its quota.
        first, second = sim.issue_token(client_id="app"), sim.issue_token(client_id="app")
        assert [(await get(bare_session, url, t))[0] for t in (first, second, first, second)] == [200, 200, 200, 429]
        assert sim.stats.requests_by_user == {"alice": 4, "beta": 1, "app": 4}
        assert sim.stats.requests_by_credential == {"alpha": 2, "alpha-2": 2, "beta": 1, "app": 4}
        assert sim.stats.rate_limited_by_user == {"alice": 1, "app": 1}


@pytest.mark.parametrize("scope", ["user", "token"])
async def test_the_burst_window_counts_a_users_requests_or_each_tokens_as_switched(bare_session, scope) -> None:
    clock = FakeClock(4_500_000.0)
    config = SimConfig(records=10, tokens=("alpha", "alpha-2"), users={"alice": ("alpha", "alpha-2")},
                       burst_limit=2, hourly_limit=100, burst_scope=scope)
    async with running_simulator(config, clock=clock) as sim:
        url = f"{sim.base_url}/products"
        assert [(await get(bare_session, url, "alpha"))[0] for _ in range(2)] == [200, 200]
        status, h, _ = await get(bare_session, url, "alpha-2")
        assert status == (429 if scope == "user" else 200)
        # The hourly quota is the user's either way.
        assert h["X-RateLimit-Remaining"] == ("98" if scope == "user" else "97")


async def test_a_burst_window_per_host_counts_every_users_requests_from_one_address_together(bare_session) -> None:
    clock = FakeClock(4_600_000.0)
    config = SimConfig(records=10, tokens=("alpha", "beta", "gamma"), burst_limit=2, burst_seconds=2.0,
                       hourly_limit=100, burst_scope="host")
    async with running_simulator(config, clock=clock) as sim:
        url = f"{sim.base_url}/products"
        # Three distinct users, one client address: the third request within 2 s is one too many.
        statuses = [(await get(bare_session, url, token))[0] for token in ("alpha", "beta", "gamma")]
        assert statuses == [200, 200, 429]
        status, h, _ = await get(bare_session, url, "gamma")
        assert status == 429 and h["X-RateLimit-Remaining"] == "100"  # each quota is still its user's
        clock.advance(2.0)
        assert (await get(bare_session, url, "gamma"))[0] == 200
        assert sim.stats.rate_limited_by_user == {"gamma": 2}


async def test_another_integration_spends_each_users_quota_on_the_simulators_clock(bare_session) -> None:
    clock = FakeClock(4_700_000.0)
    config = SimConfig(records=10, tokens=("alpha", "beta"), burst_limit=None, hourly_limit=100, hour_seconds=60,
                       other_integration_per_second=1.0)
    async with running_simulator(config, clock=clock) as sim:
        url = f"{sim.base_url}/products"
        assert (await get(bare_session, url, "alpha"))[1]["X-RateLimit-Remaining"] == "99"  # opens alpha's window
        clock.advance(10.5)
        assert (await get(bare_session, url, "alpha"))[1]["X-RateLimit-Remaining"] == "88"  # 10 by the other
        assert (await get(bare_session, url, "beta"))[1]["X-RateLimit-Remaining"] == "99"  # beta's opens now
        clock.advance(50)  # alpha's window ends: a fresh one, the other integration's spending with it
        assert (await get(bare_session, url, "alpha"))[1]["X-RateLimit-Remaining"] == "99"
        assert sim.stats.requests_by_user == {"alpha": 3, "beta": 1}


async def test_limits_switched_off(bare_session) -> None:
    config = SimConfig(records=10, burst_limit=None, hourly_limit=None)
    async with running_simulator(config) as sim:
        for _ in range(40):
            status, h, _ = await get(bare_session, f"{sim.base_url}/products")
            assert status == 200 and not any(k.startswith("X-RateLimit") for k in h)


async def test_limits_can_change_while_running(bare_session) -> None:
    clock = FakeClock(5_000_000.0)
    async with running_simulator(SimConfig(records=10, burst_limit=None), clock=clock) as sim:
        url = f"{sim.base_url}/products"
        assert (await get(bare_session, url))[0] == 200
        sim.config.burst_limit = 1
        assert (await get(bare_session, url))[0] == 429
        sim.config.burst_limit = None
        assert (await get(bare_session, url))[0] == 200


class LatencyClock:
    """A clock and a sleep for the simulator's latency that only the test moves: the moments a
    request is counted and answered are then read exactly, with no real waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleepers: list[tuple[float, asyncio.Future[None]]] = []  # (wake at, future)

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sleepers.append((self.now + seconds, woken))
        await woken

    def advance_to(self, when: float) -> None:
        self.now = when
        for entry in [e for e in self.sleepers if e[0] <= when]:
            self.sleepers.remove(entry)
            entry[1].set_result(None)

    async def until_sleeping(self, count: int) -> list[float]:
        """Let the loop run until `count` requests wait in the latency; their wake-up times."""
        for _ in range(100_000):
            if len(self.sleepers) >= count:
                return sorted(at for at, _ in self.sleepers)
            await asyncio.sleep(0)
        raise AssertionError(f"{len(self.sleepers)} of {count} requests reached the latency")


async def test_latency_is_the_whole_time_to_the_answer_and_requests_count_half_way(bare_session) -> None:
    # Half the latency passes before the handler (and the rate limits) see a request; the answer
    # comes when the whole latency has passed, however long the handler itself took.
    config = SimConfig(records=300, latency=0.4, burst_limit=None, hourly_limit=None)
    async with running_simulator(config) as sim:
        clock = LatencyClock()
        sim.monotonic, sim.sleep = clock.monotonic, clock.sleep
        url = f"{sim.base_url}/products?per_page=100"
        answers = [asyncio.ensure_future(get(bare_session, url)) for _ in range(8)]
        assert await clock.until_sleeping(8) == [0.2] * 8  # all arrived: half the latency to go in
        clock.advance_to(0.1)  # a quarter of the way
        await asyncio.sleep(0)
        assert sim.stats.requests == 0
        clock.advance_to(0.3)  # three quarters: counted, and 0.1 s (less what has passed) to go out
        assert await clock.until_sleeping(8) == [0.4] * 8
        assert sim.stats.requests == 8 and not any(a.done() for a in answers)
        clock.advance_to(0.4)
        statuses = [status for status, _, _ in await asyncio.gather(*answers)]
    assert statuses == [200] * 8
