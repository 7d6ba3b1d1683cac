"""Authentication, the account header, the OAuth client-credentials flow and error bodies."""

from __future__ import annotations

import base64

import aiohttp
import pytest

from xurrent_async.simulator import FakeClock, SimConfig, running_simulator

ACCOUNT = {"X-Xurrent-Account": "sim-account"}
CREDENTIALS = {"grant_type": "client_credentials", "client_id": "sim-client", "client_secret": "sim-secret"}



async def get(bare_session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> tuple[int, dict, object]:
    async with bare_session.get(url, headers=headers) as r:
        return r.status, dict(r.headers), await r.json()


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Bearer ", "Basic c2ltLXRva2Vu", "sim-token"])
async def test_missing_or_bad_tokens_are_401_without_rate_limit_headers(bare_session, authorization) -> None:
    async with running_simulator(SimConfig(records=5)) as sim:
        headers = dict(ACCOUNT) if authorization is None else {**ACCOUNT, "Authorization": authorization}
        status, h, body = await get(bare_session, f"{sim.base_url}/organizations", headers)
    assert (status, body) == (401, {"message": "Unauthorized"})
    assert not any(k.startswith("X-RateLimit") for k in h)
    assert h["Content-Type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize(
    ("account_headers", "message"),
    [({}, "Unknown account: "), ({"X-Xurrent-Account": "other"}, "Unknown account: other")],
)
async def test_a_missing_or_wrong_account_is_404(bare_session, account_headers, message) -> None:
    async with running_simulator(SimConfig(records=5)) as sim:
        headers = {"Authorization": "Bearer sim-token", **account_headers}
        status, h, body = await get(bare_session, f"{sim.base_url}/organizations", headers)
    assert (status, body) == (404, {"message": message})
    assert "X-RateLimit-Remaining" in h


async def test_the_legacy_account_header_works(bare_session) -> None:
    async with running_simulator(SimConfig(records=5)) as sim:
        headers = {"Authorization": "Bearer sim-token", "X-4me-Account": "sim-account"}
        assert (await get(bare_session, f"{sim.base_url}/organizations", headers))[0] == 200


async def test_client_credentials_flow_and_expiry(bare_session) -> None:
    clock = FakeClock()
    async with running_simulator(SimConfig(records=5, token_ttl_seconds=600), clock=clock) as sim:
        async with bare_session.post(sim.token_url, data=CREDENTIALS) as r:
            assert r.status == 200
            grant = await r.json()
        assert set(grant) == {"access_token", "token_type", "expires_in"}
        assert (grant["token_type"], grant["expires_in"]) == ("Bearer", 600)
        headers = {**ACCOUNT, "Authorization": f"Bearer {grant['access_token']}"}
        assert (await get(bare_session, f"{sim.base_url}/projects", headers))[0] == 200
        clock.advance(599)
        assert (await get(bare_session, f"{sim.base_url}/projects", headers))[0] == 200
        clock.advance(1)
        status, h, body = await get(bare_session, f"{sim.base_url}/projects", headers)
        assert (status, body) == (401, {"message": "Unauthorized"}) and "X-RateLimit-Limit" not in h
        # HTTP Basic client authentication is accepted as well.
        basic = base64.b64encode(b"sim-client:sim-secret").decode()
        async with bare_session.post(sim.token_url, data={"grant_type": "client_credentials"},
                                headers={"Authorization": f"Basic {basic}"}) as r:
            assert r.status == 200
        assert sim.stats.token_requests == 2


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({**CREDENTIALS, "client_secret": "wrong"}, "invalid_client"),
        ({**CREDENTIALS, "client_id": "nobody"}, "invalid_client"),
        ({"grant_type": "client_credentials", "client_id": "sim-client"}, "invalid_client"),
        ({**CREDENTIALS, "grant_type": "password"}, "unsupported_grant_type"),
        ({"client_id": "sim-client", "client_secret": "sim-secret"}, "unsupported_grant_type"),
    ],
)
async def test_bad_token_requests_are_400(bare_session, form, error) -> None:
    async with running_simulator(SimConfig(records=5)) as sim, bare_session.post(sim.token_url, data=form) as r:
        assert r.status == 400
        body = await r.json()
    assert body["error"] == error and body["error_description"]


async def test_not_found_and_forbidden(bare_session) -> None:
    headers = {**ACCOUNT, "Authorization": "Bearer sim-token"}
    async with running_simulator(SimConfig(records=5, forbidden=("projects",))) as sim:
        status, h, body = await get(bare_session, f"{sim.base_url}/projects", headers)
        assert status == 403 and isinstance(body["message"], str) and "X-RateLimit-Remaining" in h
        assert (await get(bare_session, f"{sim.base_url}/requests", headers))[:3:2] == (404, {"message": "Not found"})
        assert (await get(bare_session, f"{sim.base_url}/products/1", headers))[:3:2] == (404, {"message": "Not found"})
        assert (await get(bare_session, f"{sim.base_url}/products/x", headers))[0] == 404
        assert (await get(bare_session, f"{sim.origin}/elsewhere", headers))[0] == 404
        assert sim.stats.requests == 4
        assert sim.stats.requests_by_collection == {"projects": 1, "requests": 1, "products": 2}


async def test_the_token_endpoint_can_be_down_18_seconds_of_every_20_on_the_simulators_clock(bare_session) -> None:
    clock = FakeClock(2_000_000_000.0)  # a multiple of 20: a down period starts
    async with running_simulator(SimConfig(records=5, token_outage=(18.0, 20.0)), clock=clock) as sim:
        statuses = []
        for _ in range(40):
            async with bare_session.post(sim.token_url, data=CREDENTIALS) as r:
                statuses.append(r.status)
                if r.status == 503:
                    assert (await r.json())["error"] == "temporarily_unavailable"
            clock.advance(1.0)
        assert statuses == ([503] * 18 + [200] * 2) * 2
        headers = {**ACCOUNT, "Authorization": "Bearer sim-token"}
        assert (await get(bare_session, f"{sim.base_url}/projects", headers))[0] == 200  # the API is up
