"""Corrupt records on demand (`Simulator.corrupt`) and the record of issued OAuth tokens."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from xurrent_async.simulator import REMOVE, FakeClock, SimConfig, running_simulator

HEADERS = {"Authorization": "Bearer sim-token", "X-Xurrent-Account": "sim-account"}


def config(**kwargs: object) -> SimConfig:
    return SimConfig(**{"records": 30, "burst_limit": None, "hourly_limit": None, **kwargs})  # type: ignore[arg-type]


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


async def test_held_pages_wait_unanswered_until_released() -> None:
    async with running_simulator(config(records={"products": 300})) as sim, \
            aiohttp.ClientSession(headers=HEADERS) as session:
        sim.hold_pages("products", after=2)
        url = f"{sim.base_url}/products"
        for _ in range(2):
            assert len(await _list(session, url)) == 100
        assert len(await _list(session, f"{sim.base_url}/projects")) == 0  # other collections are not held
        held = asyncio.ensure_future(_list(session, url))
        while sim.held_requests == 0:  # noqa: ASYNC110 - the server's counter: the third request waits there
            await asyncio.sleep(0.01)
        assert not held.done() and sim.stats.pages_served == 3
        sim.release_pages()
        assert len(await held) == 100
        assert sim.held_requests == 0 and sim.stats.pages_served == 4
