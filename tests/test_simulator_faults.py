"""Every fault switch of the simulator does what it says, and is counted."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from xurrent_async.simulator import FaultConfig, SimConfig, running_simulator


def config(seed: int = 1, **faults: object) -> SimConfig:
    return SimConfig(records=50, seed=seed, burst_limit=None, hourly_limit=1000, faults=FaultConfig(**faults))  # type: ignore[arg-type]



async def test_html_5xx(session) -> None:
    async with running_simulator(config(html_5xx=1.0)) as sim:
        for _ in range(6):
            async with session.get(f"{sim.base_url}/organizations") as r:
                assert r.status in (502, 503)
                assert r.headers["Content-Type"].startswith("text/html")
                text = await r.text()
                assert text.startswith("<html>") and ("Bad Gateway" in text)
                assert "X-RateLimit-Remaining" in r.headers
        assert sim.stats.faults == {"html_5xx": 6}


async def test_reset_drops_the_connection(session) -> None:
    async with running_simulator(config(reset=1.0)) as sim:
        for _ in range(3):
            with pytest.raises(aiohttp.ClientConnectionError):
                async with session.get(f"{sim.base_url}/organizations") as r:
                    await r.read()
        # aiohttp retries a GET once on a reused connection, so count against the server's view.
        assert sim.stats.faults == {"reset": sim.stats.requests} and sim.stats.requests >= 3
        assert sim.stats.by_status == {}  # nothing was answered
        sim.config.faults.reset = 0.0
        async with session.get(f"{sim.base_url}/organizations") as r:  # the server lives on
            assert r.status == 200


async def test_stall_delays_one_request_without_blocking_others(session) -> None:
    async with running_simulator(config(stall=1.0, stall_seconds=30.0)) as sim:
        stalled = asyncio.ensure_future(session.get(f"{sim.base_url}/organizations"))
        for _ in range(500):  # until the server has the request and has stalled it
            if sim.stats.faults.get("stall"):
                break
            await asyncio.sleep(0.01)
        sim.config.faults.stall = 0.0
        started = time.monotonic()
        async with session.get(f"{sim.base_url}/organizations") as r:
            assert r.status == 200
        assert time.monotonic() - started < 5 and not stalled.done()
        stalled.cancel()
        sim.config.faults = FaultConfig(stall=1.0, stall_seconds=0.2)
        started = time.monotonic()
        async with session.get(f"{sim.base_url}/organizations") as r:
            assert r.status == 200 and len(await r.json()) == 20
        assert time.monotonic() - started >= 0.2
        assert sim.stats.faults == {"stall": 2}


async def test_truncated_json(session) -> None:
    async with running_simulator(config(truncated_json=1.0)) as sim:
        sim.config.faults.truncated_json = 0.0
        async with session.get(f"{sim.base_url}/organizations") as r:
            whole = await r.read()
        sim.config.faults.truncated_json = 1.0
        async with session.get(f"{sim.base_url}/organizations") as r:
            assert r.status == 200 and r.headers["Content-Type"] == "application/json; charset=utf-8"
            body = await r.read()
        assert body == whole[: len(whole) // 2]
        with pytest.raises(json.JSONDecodeError):
            json.loads(body)
        assert sim.stats.faults == {"truncated_json": 1}


async def test_invalid_json(session) -> None:
    async with running_simulator(config(invalid_json=1.0)) as sim:
        for _ in range(4):
            async with session.get(f"{sim.base_url}/products") as r:
                assert r.status == 200 and r.content_type == "application/json"
                with pytest.raises((json.JSONDecodeError, UnicodeDecodeError)):
                    json.loads(await r.read())
        assert sim.stats.faults == {"invalid_json": 4}


async def test_not_a_list(session) -> None:
    async with running_simulator(config(not_a_list=1.0)) as sim:
        async with session.get(f"{sim.base_url}/projects") as r:
            body = await r.json()
            assert r.status == 200 and "Link" not in r.headers
        assert isinstance(body, dict) and isinstance(body["message"], str)
        assert sim.stats.faults == {"not_a_list": 1}
        assert sim.stats.records_served == 0


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        ({"retry_after_seconds": 7}, "7"),
        ({"retry_after_seconds": 7, "omit_retry_after": True}, None),
        ({"retry_after_seconds": 7, "retry_after_http_date": 1.0}, "date"),
    ],
)
async def test_rate_429_storm(session, faults, expected) -> None:
    async with running_simulator(config(rate_429=1.0, **faults)) as sim:
        for _ in range(3):
            async with session.get(f"{sim.base_url}/products") as r:
                assert r.status == 429 and await r.json() == {"message": "Too Many Requests"}
                retry_after = r.headers.get("Retry-After")
                assert r.headers["X-RateLimit-Remaining"] == "1000"  # injected 429s use no quota
        if expected == "date":
            assert retry_after is not None and retry_after.endswith(" GMT")
        else:
            assert retry_after == expected
        assert sim.stats.faults == {"rate_429": 3} and sim.stats.rate_limited == 3
        assert sim.stats.retry_after_http_date == (3 if expected == "date" else 0)


async def test_faults_leave_token_requests_alone_and_follow_their_probability(session) -> None:
    async with running_simulator(config(html_5xx=0.5, seed=3)) as sim:
        form = {"grant_type": "client_credentials", "client_id": "sim-client", "client_secret": "sim-secret"}
        for _ in range(5):
            async with session.post(sim.token_url, data=form) as r:
                assert r.status == 200
        statuses = []
        for _ in range(200):
            async with session.get(f"{sim.base_url}/organizations/1001") as r:
                statuses.append(r.status)
        failed = sum(s != 200 for s in statuses)
        assert 60 < failed < 140 and sim.stats.faults == {"html_5xx": failed}
        assert sim.stats.records_served == 200 - failed


async def test_latency_and_jitter_are_added_to_every_response(session) -> None:
    config = SimConfig(records=5, latency=0.1, latency_jitter=0.05, burst_limit=None)
    async with running_simulator(config) as sim:
        for url in (f"{sim.base_url}/products", f"{sim.origin}/nowhere"):
            started = time.monotonic()
            async with session.get(url) as r:
                await r.read()
            assert 0.1 <= time.monotonic() - started < 2
