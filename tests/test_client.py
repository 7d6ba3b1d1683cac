"""The async client against the in-process simulator: pages, limits, retries, auth, safety."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import AsyncIterator

import aiohttp
import aiohttp.web
import pytest

from tests.conftest import FAST, unlimited
from tests.conftest import settings_for as shared_settings_for
from xurrent_async.auth import ClientCredentials, StaticToken
from xurrent_async.client import ClientOptions, XurrentClient
from xurrent_async.errors import ApiError, AuthenticationError, UnsafeRedirectError
from xurrent_async.governor import RateGovernor
from xurrent_async.pool import CredentialPool, Member
from xurrent_async.session import open_client
from xurrent_async.settings import Settings, parse_settings
from xurrent_async.simulator import FakeClock, FaultConfig, SimConfig, running_simulator

SECRET = "sim-secret-9f8e7d6c5b4a"
TOKEN = "sim-token-0123456789abcdef"


def settings_for(sim, *, oauth: bool = False, **extra: str) -> Settings:
    return shared_settings_for(sim, token=TOKEN, oauth_client=("sim-client", SECRET) if oauth else None,
                               **{"retry_attempts": "5", **extra})


def sim_config(**kwargs) -> SimConfig:
    return unlimited(**{"tokens": (TOKEN,), "oauth_clients": {"sim-client": SECRET}, **kwargs})


async def walk(client: XurrentClient, collection: str = "organizations", **params: str) -> list[dict]:
    records: list[dict] = []
    async for page in client.pages(collection, {"per_page": "100", **params}):
        records.extend(page.records)
    return records


async def test_a_full_walk_returns_every_record_once_with_the_minimum_of_requests():
    async with running_simulator(sim_config(records=10_000)) as sim, open_client(settings_for(sim), FAST) as client:
        records = await walk(client)
        assert sorted(r["id"] for r in records) == sorted(sim.truth("organizations"))
        assert len(records) == 10_000
        assert client.stats.requests == sim.stats.requests == math.ceil(10_000 / 100)


async def test_under_load_far_above_the_limits_no_429_and_the_rate_stays_near_the_allowed_one():
    config = sim_config(records=5_000, burst_limit=20, burst_seconds=1.0)
    async with running_simulator(config) as sim:
        settings = settings_for(sim, burst_limit="20", max_concurrency="50")
        async with open_client(settings, dataclasses.replace(FAST, burst_seconds=1.0)) as client:
            url = client.url("organizations")
            done = 0

            async def hammer() -> None:
                nonlocal done
                for _ in range(5):
                    await client.get_page(url, {"per_page": "10"})
                    done += 1

            started = time.monotonic()
            await asyncio.gather(*(hammer() for _ in range(30)))  # 150 requests wanted at once
            elapsed = time.monotonic() - started
        assert done == 150
        assert sim.stats.rate_limited == 0
        # 20 per sliding second: the 150th request cannot go out before 7 full windows have passed.
        fastest_allowed = (150 - 1) // 20 * 1.0
        assert elapsed >= fastest_allowed
        # Nor does the governor leave windows unused: well under twice that, a bound with room for a
        # machine several times slower. How close to the limit it comes is measured by the benchmark
        # ("vs the limits", side by side with what the limits allow), not by a timed unit test.
        assert elapsed < 2 * fastest_allowed, elapsed


async def test_the_hourly_quota_is_waited_for_not_run_into():
    config = sim_config(records=2_000, hourly_limit=15, hour_seconds=3.0)
    async with running_simulator(config) as sim:
        settings = settings_for(sim, rate_limit_per_hour="15", max_concurrency="4")
        async with open_client(settings, dataclasses.replace(FAST, hour_seconds=3.0)) as client:
            records = await walk(client, per_page="100")
        assert len(records) == 2_000  # 20 requests: more than one window's quota
        assert sim.stats.rate_limited == 0
        assert client.governor.stats.wait_seconds > 0


async def end_the_storm_after(sim, answers: int) -> None:
    """Switch the injected 429s off once the simulator has answered `answers` of them: the storm's
    end is a count, whatever the machine's speed. (A client that waits out its pause sends nothing
    in the millisecond between the last 429 and the switch.)"""
    for _ in range(1_000_000):
        if sim.stats.rate_limited >= answers:
            sim.config.faults = FaultConfig()
            return
        await asyncio.sleep(0.001)


@pytest.mark.parametrize("http_date", [False, True])
async def test_a_429_storm_pauses_every_stream_on_the_token_for_retry_after(http_date):
    faults = FaultConfig(rate_429=1.0, retry_after_seconds=2, retry_after_http_date=1.0 if http_date else 0.0)
    async with running_simulator(sim_config(records=500, faults=faults)) as sim:
        async with open_client(settings_for(sim, max_concurrency="8"), FAST) as client:
            storm = asyncio.ensure_future(end_the_storm_after(sim, 3))  # one 429 for each stream's first request
            started = time.monotonic()
            results = await asyncio.gather(*(walk(client, collection) for collection in
                                             ("organizations", "products", "projects")))
            elapsed = time.monotonic() - started
            await storm
        assert [len(r) for r in results] == [500, 500, 500]
        # The three streams' first requests met the storm; none of them retried before Retry-After
        # (an HTTP-date has whole-second resolution, so at least one second of it is certain): a
        # retry before would have met the storm again, or ended sooner than that.
        assert sim.stats.rate_limited == 3
        assert elapsed >= (1.0 if http_date else 2.0)
        assert client.stats.retries == 0  # 429s do not spend retry attempts


async def test_without_retry_after_the_wait_is_a_bounded_default():
    faults = FaultConfig(rate_429=1.0, omit_retry_after=True)
    async with running_simulator(sim_config(records=100, faults=faults)) as sim:
        tuning = dataclasses.replace(FAST, burst_seconds=0.2)  # the default pause is one burst window
        async with open_client(settings_for(sim), tuning) as client:
            storm = asyncio.ensure_future(end_the_storm_after(sim, 3))
            started = time.monotonic()
            records = await walk(client)
            elapsed = time.monotonic() - started
            await storm
        assert len(records) == 100
        assert client.governor.stats.throttled == 3  # each 429 cost one pause; the next request went through
        # The pauses doubled from one burst window, 0.2 + 0.4 + 0.8 s, and stayed that short: a
        # lower bound no machine can beat, and an upper one with room for a machine far slower.
        assert 1.4 <= elapsed < 5, elapsed


@pytest.mark.parametrize(
    "faults",
    [
        FaultConfig(html_5xx=0.4),
        FaultConfig(reset=0.3),
        FaultConfig(truncated_json=0.3),
        FaultConfig(invalid_json=0.3),
        FaultConfig(not_a_list=0.3),
        FaultConfig(stall=0.2, stall_seconds=30.0),
    ],
    ids=["html_5xx", "reset", "truncated_json", "invalid_json", "not_a_list", "stall"],
)
async def test_transient_faults_are_retried_and_the_walk_completes(faults):
    async with running_simulator(sim_config(records=2_000, faults=faults)) as sim:
        settings = dataclasses.replace(settings_for(sim, retry_attempts="10"), request_timeout_seconds=1)
        async with open_client(settings, FAST) as client:
            records = await walk(client)
        assert sorted(r["id"] for r in records) == sorted(sim.truth("organizations"))
        injected = sum(sim.stats.faults.values())
        assert 0 < client.stats.retries <= injected


async def test_a_dropped_connection_is_retried_through_the_governor_and_costs_no_429():
    # aiohttp alone would re-send the GET at once, unseen by the governor, into a full burst window.
    config = sim_config(records=2_000, burst_limit=6, burst_seconds=1.0, faults=FaultConfig(reset=0.15), seed=3)
    async with running_simulator(config) as sim:
        settings = settings_for(sim, burst_limit="6", retry_attempts="10", max_concurrency="8")
        async with open_client(settings, dataclasses.replace(FAST, burst_seconds=1.0)) as client:
            url = client.url("organizations")
            await asyncio.gather(*(client.get_page(url, {"per_page": "1"}) for _ in range(60)))
        assert sim.stats.faults.get("reset", 0) >= 3
        assert sim.stats.requests == client.stats.requests  # every arrival was a request the governor let through
        assert sim.stats.rate_limited == 0


async def test_persistent_5xx_fails_after_retry_attempts_naming_status_and_path():
    async with running_simulator(sim_config(records=100, faults=FaultConfig(html_5xx=1.0))) as sim:
        async with open_client(settings_for(sim, retry_attempts="2"), FAST) as client:
            with pytest.raises(ApiError) as caught:
                await walk(client)
        message = str(caught.value)
        assert caught.value.status in (502, 503)
        assert f"HTTP {caught.value.status}" in message and "/v1/organizations" in message
        assert "gave up after 3 attempts" in message
        assert sim.stats.requests == 3


async def test_persistent_stalls_fail_with_the_path_after_retry_attempts():
    faults = FaultConfig(stall=1.0, stall_seconds=30.0)
    async with running_simulator(sim_config(records=100, faults=faults)) as sim:
        settings = dataclasses.replace(settings_for(sim, retry_attempts="1"), request_timeout_seconds=1)
        async with open_client(settings, FAST) as client:
            with pytest.raises(ApiError, match=r"no response within 1 s.*/v1/organizations|/v1/organizations.*no resp"):
                await walk(client)


@pytest.mark.parametrize(
    ("arrange", "status"),
    [
        (lambda sim, params: params.update(sort="name"), 400),
        (lambda sim, params: setattr(sim.config, "forbidden", ("organizations",)), 403),
        (lambda sim, params: setattr(sim.config, "account_id", "another-account"), 404),
    ],
    ids=["400", "403", "404"],
)
async def test_client_errors_fail_on_the_first_try_with_the_apis_message(arrange, status):
    async with running_simulator(sim_config(records=10)) as sim:
        params = {"per_page": "10"}
        arrange(sim, params)
        async with open_client(settings_for(sim), FAST) as client:
            with pytest.raises(ApiError) as caught:
                await client.get_page(client.url("organizations"), params)
        assert caught.value.status == status
        assert sim.stats.requests == 1
        assert "/v1/organizations" in str(caught.value) and caught.value.api_message


async def test_a_refused_personal_token_fails_at_once_with_a_clear_error():
    async with running_simulator(sim_config(records=10)) as sim:
        settings, _ = parse_settings({"account_id": "sim-account", "base_url": sim.base_url,
                                      "oauth_token": "not-the-right-token-123"})
        async with open_client(settings, FAST) as client:
            with pytest.raises(AuthenticationError, match="personal access token was refused"):
                await walk(client)
        assert sim.stats.requests == 1


async def test_an_oauth_token_rejected_mid_walk_is_refreshed_once_and_the_walk_goes_on():
    clock = FakeClock()
    async with running_simulator(sim_config(records=1_000, token_ttl_seconds=3600), clock=clock) as sim:
        async with open_client(settings_for(sim, oauth=True), FAST) as client:
            pages = client.pages("organizations", {"per_page": "100"})
            first = await pages.__anext__()
            clock.advance(7200)  # the server now considers the token expired; the client does not know
            rest = [page async for page in pages]
        assert len(first.records) + sum(len(p.records) for p in rest) == 1_000
        assert sim.stats.token_requests == 2
        assert sim.stats.by_status.get(401) == 1


async def test_bad_client_credentials_fail_clearly_without_the_secret():
    async with running_simulator(sim_config(records=10)) as sim:
        settings = settings_for(sim, oauth=True, client_secret="wrong-secret-abcdef123456")
        async with open_client(settings, FAST) as client:
            with pytest.raises(AuthenticationError) as caught:
                await walk(client)
        assert "client_id and client_secret" in str(caught.value)
        assert "wrong-secret" not in str(caught.value)


async def test_an_expiring_oauth_token_is_refreshed_before_expiry_once_for_50_concurrent_requests():
    now = [0.0]
    async with running_simulator(sim_config(records=5_000, token_ttl_seconds=600)) as sim:
        async with aiohttp.ClientSession(headers={"X-Xurrent-Account": "sim-account"}) as session:
            auth = ClientCredentials(session, sim.token_url, "sim-client", SECRET, clock=lambda: now[0])
            pool = CredentialPool([Member("client 1", 1, auth, RateGovernor(burst_limit=None, hourly_limit=None))])
            client = XurrentClient(session, pool, ClientOptions(base_url=sim.base_url, account_id="sim-account",
                                                                max_concurrency=50))
            url = client.url("organizations")
            await asyncio.gather(*(client.get_page(url, {"per_page": "10"}) for _ in range(50)))
            assert sim.stats.token_requests == 1
            now[0] = 600 - 20  # in the last half of the refresh margin: no request may use the old token
            await asyncio.gather(*(client.get_page(url, {"per_page": "10"}) for _ in range(50)))
            assert sim.stats.token_requests == 2
            assert sim.stats.by_status.get(401) is None


async def test_a_link_to_a_foreign_host_is_refused_before_any_credential_is_sent():
    config = sim_config(records=300, link_base_url="http://collector.example.net/v1")
    async with running_simulator(config) as sim, open_client(settings_for(sim), FAST) as client:
        with pytest.raises(UnsafeRedirectError, match=r"collector\.example\.net"):
            await walk(client)
        assert sim.stats.requests == 1


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.4me.com/v1/organizations?search_after=x", True),
        ("https://api.uk.xurrent.com/v1/products", True),
        ("http://api.xurrent.com/v1/products", False),  # never credentials over plain http
        ("https://api.xurrent.com.evil.net/v1/products", False),
        ("https://notxurrent.com/v1/products", False),
    ],
)
def test_link_hosts_allowed_are_the_configured_one_and_xurrent_api_hosts(url, allowed):
    client = XurrentClient(None, None, ClientOptions(base_url="https://api.xurrent.com/v1",  # type: ignore[arg-type]
                                                     account_id="a"))
    if allowed:
        client._check_url(url)
    else:
        with pytest.raises(UnsafeRedirectError):
            client._check_url(url)


async def test_no_secret_reaches_logs_or_errors_in_any_failure(caplog):
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    scenarios = [
        sim_config(records=50, faults=FaultConfig(html_5xx=1.0)),
        sim_config(records=50, faults=FaultConfig(reset=1.0)),
        sim_config(records=50, forbidden=("organizations",)),
        sim_config(records=50, oauth_clients={"sim-client": "another"}),
    ]
    for config in scenarios:
        async with running_simulator(config) as sim:
            for oauth in (False, True):
                async with open_client(settings_for(sim, oauth=oauth, retry_attempts="1"), FAST) as client:
                    try:
                        await walk(client)
                    except Exception as exc:
                        texts.append(f"{exc!s} {exc!r}")
    assert texts
    everything = "\n".join(texts) + caplog.text
    for secret in (TOKEN, SECRET, "Bearer "):
        assert secret not in everything


async def test_the_token_endpoint_is_retried_when_it_fails_like_a_server():
    from aiohttp import web

    calls = 0

    async def token(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls <= 2:
            return web.Response(status=502, text="<html>Bad Gateway</html>", content_type="text/html")
        return web.json_response({"access_token": "fresh", "token_type": "Bearer", "expires_in": 3600})

    app = web.Application()
    app.router.add_post("/token", token)
    async with serving(app) as origin, aiohttp.ClientSession() as session:
        auth = ClientCredentials(session, f"{origin}/token", "id", SECRET, backoff_base_seconds=0.01)
        assert await auth.token() == "fresh"
        assert calls == 3


async def test_the_next_link_is_found_among_other_rels_and_a_relative_one_is_resolved():
    from aiohttp import web

    async def organizations(request: web.Request) -> web.Response:
        if request.query.get("page") == "2":
            return web.json_response([{"id": 2}])
        # rel="next" is not the first link, and relative: both are legal in an RFC 8288 header.
        link = '<https://api.4me.com/v1/organizations>; rel="first", </v1/organizations?page=2>; rel="next"'
        return web.json_response([{"id": 1}], headers={"Link": link})

    app = web.Application()
    app.router.add_get("/v1/organizations", organizations)
    async with serving(app) as origin:
        settings, _ = parse_settings({"account_id": "a", "base_url": f"{origin}/v1", "oauth_token": TOKEN})
        async with open_client(settings, FAST) as client:
            pages = [page async for page in client.pages("organizations", {"per_page": "1"})]
    assert [page.records for page in pages] == [[{"id": 1}], [{"id": 2}]]
    assert pages[0].next_url == f"{origin}/v1/organizations?page=2" and pages[1].next_url is None


@contextlib.asynccontextmanager
async def serving(app: aiohttp.web.Application) -> AsyncIterator[str]:
    """Serve a small aiohttp app on 127.0.0.1 for one test; yields its origin."""
    from aiohttp import web

    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_while_one_clients_token_endpoint_is_down_the_other_credential_carries_the_requests():
    # Client 1's token endpoint is down from the start; token 2 is a personal token. With two
    # request slots, a slot held while waiting for client 1's token would halve the walk's speed or
    # stall it: the walk must go on through token 2, and client 1 joins once the endpoint is back.
    config = sim_config(records=2_000, token_outage=(20.0, 20.0))
    async with running_simulator(config) as sim:
        pages = [0]

        def endpoint_back_after_ten_pages(collection: str, query: object) -> None:
            pages[0] += 1
            if pages[0] == 10:
                sim.config.token_outage = None

        sim.before_serving = endpoint_back_after_ten_pages
        async with aiohttp.ClientSession(headers={"X-Xurrent-Account": "sim-account"}) as session:
            auth = ClientCredentials(session, sim.token_url, "sim-client", SECRET, backoff_base_seconds=0.01,
                                     backoff_max_seconds=0.05)
            pool = CredentialPool([
                Member("client 1", 1, auth, RateGovernor(burst_limit=None, hourly_limit=None)),
                Member("token 2", 2, StaticToken(TOKEN), RateGovernor(burst_limit=None, hourly_limit=None))])
            client = XurrentClient(session, pool, ClientOptions(base_url=sim.base_url, account_id="sim-account",
                                                                max_concurrency=2))
            try:
                url = client.url("organizations")
                pages_done = await asyncio.gather(*(client.get_page(url, {"per_page": "10"}) for _ in range(60)))
            finally:
                await pool.aclose()
        by_credential = sim.stats.requests_by_credential
        assert len(pages_done) == 60
        assert by_credential[TOKEN] >= 10  # carried the requests while client 1 had no token
        assert by_credential.get("sim-client", 0) >= 1  # and client 1 joined once its endpoint was back
        assert sim.stats.by_status.get(503, 0) >= 1 and sim.stats.by_status.get(401) is None


async def test_an_oauth_client_whose_fresh_token_is_refused_too_is_given_up_after_one_refresh():
    # Every token dies at once on the server while announcing an hour: the client lacks access.
    config = sim_config(records=100, token_ttl_seconds=0.0, token_expires_in=3600)
    async with running_simulator(config) as sim, open_client(settings_for(sim, oauth=True), FAST) as client:
        with pytest.raises(AuthenticationError, match="freshly issued OAuth token was refused too"):
            await walk(client)
        assert sim.stats.token_requests == 2 and sim.stats.by_status.get(401) == 2
