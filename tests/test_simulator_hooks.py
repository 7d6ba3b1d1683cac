"""Corrupt records on demand (`Simulator.corrupt`), the record of issued OAuth tokens, and holds
(`Simulator.hold_after`): requests kept waiting from the n-th page served until the test releases them."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.conftest import HEADERS, unlimited
from xurrent_async.simulator import REMOVE, FakeClock, FaultConfig, SimConfig, running_simulator


def config(**kwargs: object) -> SimConfig:
    return unlimited(**{"records": 30, **kwargs})


async def _list(session: aiohttp.ClientSession, url: str, **params: str) -> list[dict]:
    async with session.get(url, params={"per_page": "100", **params}) as response:
        assert response.status == 200
        return await response.json()


async def test_a_patch_is_served_in_lists_record_gets_and_truth_and_can_be_healed() -> None:
    async with running_simulator(config()) as sim, aiohttp.ClientSession(headers=HEADERS) as session:
        ids = sim.ids("projects")
        broken, gone = ids[3], ids[4]
        before = await _list(session, f"{sim.base_url}/projects")
        sim.corrupt("projects", broken, {"status": "on_fire", "updated_at": "yesterday", "risk_level": None})
        sim.corrupt("projects", gone, {"id": REMOVE, "subject": REMOVE})

        after = await _list(session, f"{sim.base_url}/projects")
        assert len(after) == len(before)  # same records, same places: order and filters are unchanged
        by_position = dict(zip([r.get("id") for r in before], after, strict=True))
        assert by_position[broken]["status"] == "on_fire"
        assert by_position[broken]["updated_at"] == "yesterday"
        assert "risk_level" not in by_position[broken]  # not a default field: the list leaves it out
        assert "id" not in by_position[gone] and "subject" not in by_position[gone]
        assert by_position[gone]["nodeID"]  # the rest of the record is still there
        for record_id in set(ids) - {broken, gone}:
            assert by_position[record_id] == next(r for r in before if r["id"] == record_id)

        # `fields=` selects from the patched record: a removed key stays away, a patched one shows.
        some = await _list(session, f"{sim.base_url}/projects", fields="status,subject")
        assert {"status": "on_fire"}.items() <= some[[r.get("id") for r in before].index(broken)].items()
        assert "subject" not in some[[r.get("id") for r in before].index(gone)]

        async with session.get(f"{sim.base_url}/projects/{broken}") as response:
            record = await response.json()
            assert record["status"] == "on_fire" and record["risk_level"] is None
        truth = sim.truth("projects")
        assert truth[broken]["updated_at"] == "yesterday" and "id" not in truth[gone]

        sim.corrupt("projects", broken, None)
        sim.corrupt("projects", gone, None)
        assert await _list(session, f"{sim.base_url}/projects") == before


async def test_corrupt_refuses_unknown_collections_and_ids() -> None:
    async with running_simulator(config()) as sim:
        with pytest.raises(KeyError):
            sim.corrupt("tickets", 1, {"id": REMOVE})
        with pytest.raises(KeyError):
            sim.corrupt("projects", 1, {"id": REMOVE})
        assert repr(REMOVE) == "REMOVE"


async def test_issued_tokens_lists_every_oauth_token_handed_out() -> None:
    async with running_simulator(config()) as sim, aiohttp.ClientSession() as session:
        form = {"grant_type": "client_credentials", "client_id": "sim-client", "client_secret": "sim-secret"}
        handed = []
        for _ in range(3):
            async with session.post(sim.token_url, data=form) as response:
                handed.append((await response.json())["access_token"])
        direct = sim.issue_token()
        assert sim.issued_tokens() == [*handed, direct]


async def test_token_expires_in_can_announce_a_longer_life_than_the_token_has() -> None:
    clock = FakeClock()
    async with running_simulator(config(token_ttl_seconds=2, token_expires_in=3600), clock=clock) as sim, \
            aiohttp.ClientSession() as session:
        form = {"grant_type": "client_credentials", "client_id": "sim-client", "client_secret": "sim-secret"}
        async with session.post(sim.token_url, data=form) as response:
            body = await response.json()
        assert body["expires_in"] == 3600
        headers = {"Authorization": f"Bearer {body['access_token']}", "X-Xurrent-Account": "sim-account"}
        async with session.get(f"{sim.base_url}/products", headers=headers) as response:
            assert response.status == 200
        clock.advance(2)
        async with session.get(f"{sim.base_url}/products", headers=headers) as response:
            assert response.status == 401  # it died at its real ttl, whatever it announced


async def _poll(condition, what: str) -> None:
    """Wait for something the simulator does; the 50 s bound only turns a hang into a failure."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never happened: {what}")


async def test_a_hold_serves_n_pages_then_keeps_later_requests_until_released() -> None:
    async with running_simulator(config()) as sim, aiohttp.ClientSession(headers=HEADERS) as session:
        url = f"{sim.base_url}/projects"
        with sim.hold_after(2) as hold:
            for _ in range(2):
                assert len(await _list(session, url, per_page="5")) == 5
            assert hold.engaged.is_set() and not hold.holding.is_set()
            waiting = asyncio.ensure_future(session.get(url))
            await _poll(hold.holding.is_set, "the third request waits")
            await asyncio.sleep(0)
            assert not waiting.done() and sim.stats.requests == 2  # held before it was even counted
            # Released, it meets the switches as they are then: a fault turned on meanwhile.
            sim.config.faults = FaultConfig(html_5xx=1.0)
            hold.release()
            async with await waiting as response:
                assert response.status in (502, 503)
        assert hold.held == 1 and sim.stats.requests == 3
        sim.config.faults = FaultConfig()
        assert len(await _list(session, url)) == 30  # released for good


async def test_a_hold_on_one_collection_lets_the_others_through_and_ends_with_its_block() -> None:
    async with running_simulator(config()) as sim, aiohttp.ClientSession(headers=HEADERS) as session:
        with sim.hold_after(1, "products") as hold:
            await _list(session, f"{sim.base_url}/organizations")  # other collections do not count
            assert not hold.engaged.is_set()
            await _list(session, f"{sim.base_url}/products")
            assert hold.engaged.is_set()
            assert len(await _list(session, f"{sim.base_url}/projects")) == 30  # not held
            waiting = asyncio.ensure_future(session.get(f"{sim.base_url}/products"))
            await _poll(hold.holding.is_set, "the products request waits")
            assert not waiting.done()
        async with await waiting as response:  # leaving the block released it
            assert response.status == 200
        with pytest.raises(KeyError):
            sim.hold_after(1, "tickets")
