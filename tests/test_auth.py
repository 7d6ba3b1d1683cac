"""The OAuth token provider against a scripted token endpoint, on a virtual clock (no waiting, no
HTTP): outages waited through, refusals given up at once, one fetch shared by every caller, no
redirect followed, refreshes in the background while the old token may still be sent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from tests.virtual_time import run
from xurrent_async.auth import (
    REFRESH_MARGIN_SECONDS,
    TOKEN_PATIENCE_SECONDS,
    TOKEN_RETRY_MAX_SECONDS,
    ClientCredentials,
    TokenEndpointDown,
    TokenEndpointError,
)

SECRET = "xcs-AuthSecret-9f8e7d6c5b"
URL = "https://oauth.example.com/token"
Answer = tuple[int, dict[str, Any] | str, dict[str, str]]  # status, body, headers


def grant(token: str = "fresh", expires_in: float = 3600) -> Answer:
    return 200, {"access_token": token, "token_type": "Bearer", "expires_in": expires_in}, {}


DOWN: Answer = (503, "<html><body>Service Unavailable</body></html>", {})


@dataclass
class Endpoint:
    """A token endpoint whose answer is `script(now)`, on the loop's clock; each POST takes 50 ms."""

    script: Callable[[float], Answer | Exception]
    posts: list[float] = field(default_factory=list)
    redirects_allowed: list[bool] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0

    def post(self, url: str, *, data: dict[str, str], allow_redirects: bool = True) -> _Response:
        assert url == URL and data["client_secret"] == SECRET
        self.redirects_allowed.append(allow_redirects)
        return _Response(self)


class _Response:
    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint

    async def __aenter__(self) -> _Response:
        endpoint = self.endpoint
        loop = asyncio.get_running_loop()
        endpoint.posts.append(loop.time())
        endpoint.in_flight += 1
        endpoint.most_in_flight = max(endpoint.most_in_flight, endpoint.in_flight)
        try:
            await asyncio.sleep(0.05)
        finally:
            endpoint.in_flight -= 1
        answer = endpoint.script(loop.time())
        if isinstance(answer, Exception):
            raise answer
        self.status, body, self.headers = answer
        self._body = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def read(self) -> bytes:
        return self._body


def provider(endpoint: Endpoint, **kwargs: Any) -> ClientCredentials:
    loop = asyncio.get_running_loop()
    return ClientCredentials(endpoint, URL, "client-1", SECRET, clock=loop.time, sleep=asyncio.sleep,  # type: ignore[arg-type]
                             **kwargs)


def test_an_outage_of_a_minute_is_waited_through_and_one_fetch_serves_every_caller():
    async def main() -> tuple[list[str], Endpoint, float]:
        start = asyncio.get_running_loop().time()
        endpoint = Endpoint(lambda now: DOWN if now < start + 60 else grant())
        auth = provider(endpoint)
        tokens = await asyncio.gather(*(auth.token() for _ in range(10)))
        return tokens, endpoint, asyncio.get_running_loop().time() - start

    tokens, endpoint, seconds = run(main)
    assert tokens == ["fresh"] * 10
    assert 60 <= seconds <= 60 + TOKEN_RETRY_MAX_SECONDS + 0.1
    assert endpoint.most_in_flight == 1  # one fetch for all ten callers
    gaps = [b - a for a, b in zip(endpoint.posts, endpoint.posts[1:], strict=False)]
    assert max(gaps) <= TOKEN_RETRY_MAX_SECONDS + 0.05  # never sleeps through a short window of service


def test_a_token_endpoint_down_18_seconds_of_every_20_gives_a_token_within_one_cycle():
    async def main() -> float:
        start = asyncio.get_running_loop().time()
        endpoint = Endpoint(lambda now: DOWN if (now - start) % 20 < 18 else grant())
        await provider(endpoint).token()
        return asyncio.get_running_loop().time() - start

    assert run(main) < 20


@pytest.mark.parametrize("answer", [(408, {"error": "timeout"}, {}), (429, {"error": "slow_down"}, {}),
                                    (502, "Bad Gateway", {}), aiohttp.ServerDisconnectedError(),
                                    asyncio.TimeoutError()])
def test_timeouts_resets_408_429_and_5xx_are_asked_again(answer: Answer | Exception):
    async def main() -> tuple[str, int]:
        endpoint = Endpoint(lambda now: answer if len(endpoint.posts) <= 3 else grant())
        return await provider(endpoint).token(), len(endpoint.posts)

    assert run(main) == ("fresh", 4)


def test_a_retry_after_from_the_token_endpoint_is_waited_for():
    async def main() -> list[float]:
        endpoint = Endpoint(lambda now: (429, {"error": "slow_down"}, {"Retry-After": "7"}) if len(endpoint.posts) == 1
                            else grant())
        await provider(endpoint).token()
        return endpoint.posts

    first, second = run(main)
    assert second - first == pytest.approx(7.05)


def test_an_oauth_refusal_gives_the_credential_up_at_once_naming_the_endpoint_and_its_answer():
    async def main() -> tuple[BaseException, int]:
        endpoint = Endpoint(lambda now: (401, {"error": "invalid_client",
                                               "error_description": "Client authentication failed"}, {}))
        with pytest.raises(TokenEndpointError) as caught:
            await provider(endpoint).token()
        return caught.value, len(endpoint.posts)

    error, posts = run(main)
    assert posts == 1
    assert "the token endpoint oauth.example.com/token refused the client: HTTP 401 invalid_client " \
           "(Client authentication failed)" in str(error)
    assert "check client_id and client_secret" in str(error) and SECRET not in str(error)


def test_an_endpoint_that_keeps_failing_is_given_up_after_the_patience_and_every_waiter_gets_that_failure():
    async def main() -> tuple[list[BaseException], float, Endpoint]:
        start = asyncio.get_running_loop().time()
        endpoint = Endpoint(lambda now: DOWN)
        auth = provider(endpoint)
        errors = await asyncio.gather(*(auth.token() for _ in range(5)), return_exceptions=True)
        return errors, asyncio.get_running_loop().time() - start, endpoint

    errors, seconds, endpoint = run(main)
    assert all(isinstance(e, TokenEndpointDown) and not isinstance(e, TokenEndpointError) for e in errors)
    assert len({str(e) for e in errors}) == 1 and endpoint.most_in_flight == 1
    assert TOKEN_PATIENCE_SECONDS - TOKEN_RETRY_MAX_SECONDS <= seconds <= TOKEN_PATIENCE_SECONDS + 1
    assert ("the token endpoint oauth.example.com/token kept failing for 120 s (last answer: HTTP 503 Service "
            "Unavailable)") in str(errors[0])


def test_the_token_post_never_follows_a_redirect():
    async def main() -> tuple[BaseException, Endpoint]:
        endpoint = Endpoint(lambda now: (307, "", {"Location": "https://collector.example.net/token"}))
        with pytest.raises(TokenEndpointError) as caught:
            await provider(endpoint).token()
        return caught.value, endpoint

    error, endpoint = run(main)
    assert endpoint.redirects_allowed == [False] and len(endpoint.posts) == 1
    assert "answered a redirect to collector.example.net, which is not followed" in str(error)


def test_a_refresh_runs_in_the_background_while_the_old_token_may_still_be_sent():
    async def main() -> list[str | None]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        issued = iter(["first", "second"])
        # Up at first, then down for 40 s from the moment the refresh is due.
        due = start + 3600 - REFRESH_MARGIN_SECONDS
        endpoint = Endpoint(lambda now: DOWN if due <= now < due + 40 else grant(next(issued)))
        auth = provider(endpoint)
        await auth.token()
        seen = []
        for at in (due - 1, due + 1, due + 29, due + 31, due + 45):
            await asyncio.sleep(at - loop.time())
            seen.append(auth.usable())
        return seen

    # The old token while the refresh waits out the outage (the first half of the margin), then
    # none until the new one comes.
    assert run(main) == ["first", "first", "first", None, "second"]
