"""HTTP handlers: POST /token, GET /v1/<collection> and GET /v1/<collection>/<id>.

POST /token answers 503 while `token_outage` says the endpoint is down (on the simulator's clock).

Order of checks on a collection request, as the client sees it:
1. bad, missing or expired bearer token -> 401 {"message": "Unauthorized"}, no X-RateLimit-*;
2. over the user's hourly or burst limit -> 429 {"message": "Too Many Requests"} + Retry-After (no
   quota used);
3. `X-Xurrent-Account` (or legacy `X-4me-Account`) not the account -> 404 {"message": "Unknown account: <x>"};
4. unknown collection or record -> 404 {"message": "Not found"} (the feeds too, with
   `feeds_missing`); forbidden collection (or feed: `forbidden=("archive", "trash")` plays a token
   without the right to read them) -> 403;
5. injected faults; then the answer. Everything after step 1 carries X-RateLimit-*.
`page=` is accepted and ignored: pagination is cursor-only (`search_after`).
"""

from __future__ import annotations

import asyncio
import math
import secrets
import uuid

from aiohttp import web
from aiohttp.typedefs import Handler

from .auth import basic_credentials, bearer_token
from .config import COLLECTIONS, SimConfig
from .faults import abort_connection, not_a_list_body, truncate
from .limits import Caller, retry_after_seconds
from .listing import Answer, list_page, one_entry, one_record, removal_feed
from .removals import FEEDS
from .responses import compress, json_response
from .server import Simulator
from .timefmt import http_date

SIM = web.AppKey("simulator", Simulator)


@web.middleware
async def common(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Latency, and what every response carries: Date (simulator clock), X-Request-Id, encoding.

    Latency is the time from the request's arrival to its answer, half of it on the way in (the
    request reaches the handler, and the rate limits count it, mid-way, as on a real network) and
    the rest on the way back, less the time this server spent on it. A real API serves requests in
    parallel; this one serves them one after another, and adding its CPU time to the latency would
    make C requests that arrive together C times slower to answer than one alone."""
    sim = request.app[SIM]
    cfg = sim.config
    arrived = sim.monotonic()
    delay = cfg.latency + (sim.jitter.uniform(0, cfg.latency_jitter) if cfg.latency_jitter > 0 else 0.0)
    if delay > 0:
        await sim.sleep(delay / 2)
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # aiohttp's own 404/405: answer them in the API's JSON shape
        response = json_response(exc.status, {"message": exc.reason})
    # The server's clock, not the host's: a skewed or fake clock shows here.
    response.headers["Date"] = http_date(sim.clock.now())
    response.headers["X-Request-Id"] = uuid.uuid4().hex
    compress(request.headers.get("Accept-Encoding", ""), response)
    sim.stats.count_status(response.status)
    remaining = arrived + delay - sim.monotonic()
    if remaining > 0:
        await sim.sleep(remaining)
    return response


async def token(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    sim.stats.token_requests += 1
    if sim.on_token_request is not None:  # a test's moment: "the clock moves on with each token request"
        sim.on_token_request()
    outage = sim.config.token_outage
    if outage is not None and sim.clock.now() % outage[1] < outage[0]:
        return json_response(503, {"error": "temporarily_unavailable",
                                   "error_description": "The token endpoint is temporarily unavailable"})
    form = await request.post()
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    if client_id is None:
        client_id, client_secret = basic_credentials(request.headers.get("Authorization"))
    if form.get("grant_type") != "client_credentials":
        return json_response(400, {"error": "unsupported_grant_type",
                                   "error_description": "grant_type must be client_credentials"})
    expected = sim.config.oauth_clients.get(str(client_id)) if client_id is not None else None
    if expected is None or not isinstance(client_secret, str) or not secrets.compare_digest(
        expected.encode(), client_secret.encode()
    ):
        return json_response(400, {"error": "invalid_client",
                                   "error_description": "Client authentication failed"})
    ttl = sim.config.token_ttl_seconds
    access_token = sim.tokens.issue(sim.clock.now(), ttl, str(client_id))
    # A server may revoke a token before the lifetime it announced: token_expires_in plays that.
    reported = ttl if sim.config.token_expires_in is None else sim.config.token_expires_in
    return json_response(200, {"access_token": access_token, "token_type": "Bearer", "expires_in": int(reported)})


async def collection_get(request: web.Request) -> web.Response:
    """A list page, a record, a feed page or a feed entry, through the checks in the module's order."""
    sim = request.app[SIM]
    cfg = sim.config
    collection = request.match_info["collection"]
    record_id = request.match_info.get("record_id")
    for hold in sim.holds:  # a test's hold (holds.py): before anything counts or checks the request
        await hold.wait(collection)
    sim.stats.requests += 1
    sim.stats.requests_by_collection[collection] = sim.stats.requests_by_collection.get(collection, 0) + 1
    now = sim.clock.now()
    access_token = bearer_token(request.headers.get("Authorization"))
    if access_token is None or not sim.tokens.valid(access_token, now, cfg.tokens):
        return json_response(401, {"message": "Unauthorized"})

    caller, credential = sim.caller(access_token, request.remote or "")
    sim.stats.count_caller(caller.user, credential)
    limits = sim.limits()
    retry_at = sim.limiter.check(caller, now, limits)
    if retry_at is not None:
        return _too_many(sim, caller, now, retry_at)

    problem = _refusal(cfg, request, collection)
    stall, kind = (None, None) if problem else (sim.faults.stall(cfg.faults), sim.faults.pick(cfg.faults))
    if kind == "rate_429":
        sim.stats.count_fault(kind)
        return _too_many(sim, caller, now, None)

    sim.limiter.consume(caller, now, limits)
    headers = sim.limiter.headers(caller, now, limits)
    if problem is not None:
        return json_response(problem[0], {"message": problem[1]}, headers=headers)
    failed = await _network_fault(sim, request, stall, kind, headers)
    if failed is not None:
        return failed

    answer = _answer(sim, request, collection, record_id, now)
    headers.update(answer.headers)
    if answer.status == 200 and kind in _BODY_FAULTS:
        return _broken_body(sim, kind, answer.body, headers)
    if answer.status == 200:
        _count_served(sim, collection, record_id, answer.records)
    return json_response(answer.status, body=answer.body, headers=headers)


_BODY_FAULTS = ("truncated_json", "invalid_json", "not_a_list")


def _refusal(cfg: SimConfig, request: web.Request, collection: str) -> tuple[int, str] | None:
    """Step 3 and 4: a request the API refuses after counting it (status and message), or None."""
    account = request.headers.get("X-Xurrent-Account", request.headers.get("X-4me-Account"))
    if account != cfg.account_id:
        return 404, f"Unknown account: {account or ''}"
    if collection not in COLLECTIONS and (collection not in FEEDS or cfg.feeds_missing):
        return 404, "Not found"  # feeds_missing: a server without the archive and trash
    if collection in cfg.forbidden:
        return 403, f"You are not authorized to access {collection}"
    return None


async def _network_fault(sim: Simulator, request: web.Request, stall: bool | None, kind: str | None,
                         headers: dict[str, str]) -> web.Response | None:
    """Step 5's faults before an answer: a stall (then the answer), a reset, or a proxy's HTML 5xx."""
    if stall:
        sim.stats.count_fault("stall")
        await asyncio.sleep(sim.config.faults.stall_seconds)  # other requests go on meanwhile
    if kind == "reset":
        sim.stats.count_fault(kind)
        abort_connection(request)
    if kind == "html_5xx":
        sim.stats.count_fault(kind)
        return sim.faults.html_5xx(headers)
    return None


def _answer(sim: Simulator, request: web.Request, collection: str, record_id: str | None, now: float) -> Answer:
    """The API's answer: the data set as of `now` (with its ongoing changes applied)."""
    cfg = sim.config
    sim.dataset.apply_changes(now, cfg.changes_per_second)
    if sim.before_serving is not None:  # a test's moment: "when the first /archive page is asked for"
        sim.before_serving(collection, request.query)
    link_base = (cfg.link_base_url or f"{request.scheme}://{request.host}/v1").rstrip("/")
    if record_id is None and collection in FEEDS:
        return removal_feed(sim, collection, request.query.items(), link_base)
    if record_id is None:
        return list_page(sim, collection, request.query.items(), link_base)
    if collection in FEEDS:
        return one_entry(sim, collection, record_id, link_base)
    return one_record(sim, collection, record_id)


def _broken_body(sim: Simulator, kind: str, body: bytes, headers: dict[str, str]) -> web.Response:
    """Step 5's faults in a 200's body: cut short, not JSON, or an object instead of a list."""
    sim.stats.count_fault(kind)
    if kind == "truncated_json":
        body = truncate(body)
    elif kind == "invalid_json":
        body = sim.faults.not_json()
    else:
        body = not_a_list_body()
        headers = {k: v for k, v in headers.items() if not k.startswith(("Link", "X-Pagination"))}
    return json_response(200, body=body, headers=headers)


def _count_served(sim: Simulator, collection: str, record_id: str | None, records: int) -> None:
    stats = sim.stats
    if collection in FEEDS:
        stats.feed_entries_served += records
    else:
        stats.records_served += records
        stats.pages_served += record_id is None
    if record_id is None:
        for hold in sim.holds:
            hold.page_served(collection)


def _too_many(sim: Simulator, caller: Caller, now: float, retry_at: float | None) -> web.Response:
    """A 429: `retry_at` from the real limiter, or None for an injected one."""
    sim.stats.rate_limited += 1
    sim.stats.rate_limited_by_user[caller.user] = sim.stats.rate_limited_by_user.get(caller.user, 0) + 1
    faults = sim.config.faults
    headers = sim.limiter.headers(caller, now, sim.limits())
    if not faults.omit_retry_after:
        wait = retry_after_seconds(retry_at, now) if retry_at is not None else faults.retry_after_seconds
        moment = retry_at if retry_at is not None else now + wait
        use_date = sim.faults.http_date_retry(faults)
        headers["Retry-After"] = http_date(math.ceil(moment)) if use_date else str(wait)
        sim.stats.retry_after_http_date += use_date
    return json_response(429, {"message": "Too Many Requests"}, headers=headers)


async def not_found(request: web.Request) -> web.Response:
    return json_response(404, {"message": "Not found"})


def build_app(sim: Simulator) -> web.Application:
    app = web.Application(middlewares=[common])
    app[SIM] = sim
    app.router.add_post("/token", token)
    app.router.add_get("/v1/{collection}", collection_get)
    app.router.add_get("/v1/{collection}/{record_id}", collection_get)
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app
