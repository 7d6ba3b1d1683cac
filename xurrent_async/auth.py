"""Where the bearer token comes from: a static personal token, or OAuth client credentials.

Both providers answer `token()` and `refresh(stale)`. The OAuth provider refreshes shortly before
`expires_in` runs out and lets one refresh run at a time: requests that arrive meanwhile wait for
it instead of asking the token endpoint themselves.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp
import backoff

from xurrent_async.errors import AuthenticationError

# Ask for a new token this long before the old one expires, so no request carries a dying token.
REFRESH_MARGIN_SECONDS = 60.0


class _TokenEndpointDown(AuthenticationError):
    """The token endpoint did not answer usefully (5xx, timeout, reset): worth retrying."""


class TokenProvider(Protocol):
    # False when a 401 cannot be cured by asking again (a personal token).
    can_refresh: bool

    async def token(self) -> str: ...

    async def refresh(self, stale: str) -> str:
        """Called after a 401 with the token that was refused; returns a fresh one."""
        ...


class StaticToken:
    """A personal access token. It cannot be refreshed: a 401 means it is wrong or revoked."""

    can_refresh = False

    def __init__(self, token: str):
        self._token = token

    def __repr__(self) -> str:
        return "StaticToken(****)"

    async def token(self) -> str:
        return self._token

    async def refresh(self, stale: str) -> str:
        return self._token


class ClientCredentials:
    """OAuth client-credentials grant against the token endpoint."""

    can_refresh = True

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        margin: float = REFRESH_MARGIN_SECONDS,
        retry_attempts: int = 3,
        backoff_base_seconds: float = 1.0,
    ):
        self._session = session
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._margin = margin
        self._token: str | None = None
        self._refresh_at = 0.0
        self._lock = asyncio.Lock()
        self.requests = 0  # token endpoint calls, for tests and logs
        # The token endpoint fails like any server: 5xx, timeouts and resets are retried with
        # backoff; a refusal (400 invalid_client, 401) is not.
        self._fetch = backoff.on_exception(
            backoff.expo, _TokenEndpointDown, max_tries=retry_attempts + 1, jitter=backoff.full_jitter,
            factor=backoff_base_seconds, max_value=60.0, logger=None,
        )(self._fetch_once)

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self._client_id!r}, secret=****)"

    def _fresh(self) -> bool:
        return self._token is not None and self._clock() < self._refresh_at

    async def token(self) -> str:
        if self._fresh():
            return self._token  # type: ignore[return-value]
        async with self._lock:
            if not self._fresh():  # someone else may have refreshed while we waited
                await self._fetch()
            return self._token  # type: ignore[return-value]

    async def refresh(self, stale: str) -> str:
        async with self._lock:
            if self._token is None or self._token == stale:
                await self._fetch()
            return self._token  # type: ignore[return-value]

    async def _fetch_once(self) -> None:
        path = urlsplit(self._token_url).path or "/"
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        self.requests += 1
        sent_at = self._clock()  # the lifetime counts from before the request, to be safe
        try:
            async with self._session.post(self._token_url, data=form) as response:
                body = await response.read()
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise _TokenEndpointDown(None, path, f"token endpoint unreachable: {type(exc).__name__}") from None
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if status >= 500 or (status == 200 and not isinstance(payload, dict)):
            raise _TokenEndpointDown(status, path, f"the token endpoint failed (HTTP {status})")
        if status != 200 or not isinstance(payload, dict) or not payload.get("access_token"):
            detail = "unexpected response"
            if isinstance(payload, dict):
                detail = str(payload.get("error_description") or payload.get("error") or detail)
            raise AuthenticationError(
                status, path, detail, hint="check client_id and client_secret"
            )
        self._token = str(payload["access_token"])
        try:
            lifetime = float(payload.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        # A token that lives shorter than the margin is still usable: refresh at half its life.
        self._refresh_at = sent_at + lifetime - min(self._margin, lifetime / 2)
