"""What several test files share: the simulator's built-in credentials and request headers, an
aiohttp session fixture, a simulator with its rate limits off, connector settings pointing at a
simulator, fast retry tunings, and the one fake clock for async code.

The fake clock is tests/virtual_time.py's loop: an async test decorated `@on_virtual_time` runs on
a VirtualTimeLoop, whose clock jumps to the next timer when nothing is ready (and
`asyncio.get_running_loop().now` is settable), so asyncio.sleep, call_at and whatever reads
`loop.time()` run in no wall time. The simulator's own server-side
clock is xurrent_async.simulator.FakeClock (thread-safe, moved by `advance`).

Plain helpers are importable (`from tests.conftest import HEADERS, unlimited, ...`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import aiohttp
import pytest

from tests import sdk_harness
from tests.virtual_time import run
from xurrent_async.settings import Settings, parse_settings
from xurrent_async.simulator import SimConfig
from xurrent_async.tuning import Tuning

SIM_TOKEN, SIM_ACCOUNT = "sim-token", "sim-account"  # the simulator's built-in credentials, not secrets
# Retries that back off for milliseconds, not seconds.
FAST = Tuning(backoff_base_seconds=0.01, backoff_max_seconds=0.05)
T = TypeVar("T")


def headers(token: str = SIM_TOKEN) -> dict[str, str]:
    """What an API request to the simulator carries: a bearer token and the account."""
    return {"Authorization": f"Bearer {token}", "X-Xurrent-Account": SIM_ACCOUNT}


HEADERS = headers()


def unlimited(**kwargs: Any) -> SimConfig:
    """A simulator with its rate limits off unless asked (the governor has its own tests)."""
    return SimConfig(**{"burst_limit": None, "hourly_limit": None, **kwargs})


def configuration(sim: Any, *, token: str = SIM_TOKEN, oauth_client: tuple[str, str] | None = None,
                  **extra: str) -> dict[str, str]:
    """Connector settings, as the SDK hands them over, for a sync against `sim`: its personal
    `token`, or (`oauth_client`: id and secret) the client-credentials flow; limits wide open."""
    config = {"account_id": SIM_ACCOUNT, "base_url": sim.base_url, "burst_limit": "10000",
              "rate_limit_per_hour": "1000000"}
    if oauth_client:
        config.update(client_id=oauth_client[0], client_secret=oauth_client[1], oauth_token_url=sim.token_url)
    else:
        config["oauth_token"] = token
    config.update(extra)
    return config


def settings_for(sim: Any, **kwargs: Any) -> Settings:
    """`configuration(sim, ...)` parsed, as a sync gets it."""
    return parse_settings(configuration(sim, **kwargs))[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`--dist worksteal`), each of the W workers starts on an equal contiguous
    share of the tests and the others steal from its far end when they run out. Ordered so that
    every share starts with its part of the SDK runner's tests (marked slow), those start at once on
    every worker and none trails behind the quick ones. Serially, the order is kept."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers <= 1:
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    quick = [item for item in items if item.get_closest_marker("slow") is None]
    items[:] = [item for k in range(workers) for item in (*slow[k::workers], *quick[k::workers])]


@pytest.fixture(autouse=True)
def _runner_allowed(request: pytest.FixtureRequest) -> Iterator[None]:
    """`make check` leaves out the tests marked slow: a test that starts the SDK runner must carry
    the mark, or the inner loop would silently run it (sdk_harness.run_debug checks this flag)."""
    sdk_harness.RUNNER_ALLOWED = request.node.get_closest_marker("slow") is not None
    yield
    sdk_harness.RUNNER_ALLOWED = True


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session whose requests carry HEADERS (a request's own headers override them)."""
    async with aiohttp.ClientSession(headers=HEADERS) as s:
        yield s


@pytest.fixture
async def bare_session() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session that sends no credentials of its own."""
    async with aiohttp.ClientSession() as s:
        yield s


def on_virtual_time(test: Callable[[], Awaitable[T]]) -> Callable[[], T]:
    """Make an async test (without fixtures) a plain one that runs it on a fresh VirtualTimeLoop."""
    def run_on_virtual_time() -> T:
        return run(test)

    run_on_virtual_time.__name__ = run_on_virtual_time.__qualname__ = test.__name__
    run_on_virtual_time.__doc__ = test.__doc__
    return run_on_virtual_time
