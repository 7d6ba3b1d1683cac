"""Where the bearer token comes from: a static personal token, or OAuth client credentials.

Both providers answer `usable()` (a token that may be sent now, or None), `token()` (waits for one)
and `refresh(stale)` (after a 401). The OAuth provider:

* refreshes ahead of expiry, in the background while the old token may still be sent (the first
  half of the margin), and makes requests wait only once it may not;
* runs one fetch at a time: every caller that needs a token meanwhile waits for that fetch and gets
  its result, a token or the failure, instead of repeating it;
* takes the token endpoint's failures as transient until proven otherwise: 5xx, 408, 429, timeouts
  and dropped connections are retried with capped backoff (or after Retry-After) for
  TOKEN_PATIENCE_SECONDS before the credential is given up; only an answer that cannot change by
  asking again (an OAuth error such as 400/401 `invalid_client`, a redirect, a 404) gives it up at
  once. Either way the message names the token endpoint and what it answered;
* never follows a redirect: the client secret is posted to the configured endpoint only.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp

from xurrent_async.errors import ApiError, AuthenticationError
from xurrent_async.governor import retry_after_seconds

# Ask for a new token this long before the old one expires; the old one is still sent during the
# first half of it, so a slow token endpoint delays no request.
REFRESH_MARGIN_SECONDS = 60.0
# How long the token endpoint may keep failing (5xx, 408, 429, timeouts, resets) before the
# credential is given up: an outage of the token endpoint is waited through, not a reason to fail.
TOKEN_PATIENCE_SECONDS = 120.0
# The longest pause between two attempts (unless the endpoint asks for a longer one with
# Retry-After): a fetch never sleeps through a short window in which the endpoint answers.
TOKEN_RETRY_MAX_SECONDS = 1.5
# Statuses from the token endpoint worth asking again (besides any 5xx).
TRANSIENT_STATUSES = (408, 429)


class TokenEndpointError(AuthenticationError):
    """The token endpoint refused the client (an OAuth error, a redirect): asking again cannot help."""


class TokenEndpointDown(ApiError):
    """The token endpoint kept failing for TOKEN_PATIENCE_SECONDS: the credential is given up for
    this sync (a rerun later may succeed)."""


class _Unavailable(Exception):
    """One attempt failed in a way worth repeating; `answer` says how, `retry_after` when."""

    def __init__(self, status: int | None, answer: str, retry_after: float | None = None):
        super().__init__(answer)
        self.status = status
        self.answer = answer
        self.retry_after = retry_after


class TokenProvider(Protocol):
    # False when a 401 cannot be cured by asking again (a personal token).
    can_refresh: bool
    # How many tokens it has fetched: tells a token issued after a refusal from one issued before.
    generation: int

    def usable(self) -> str | None:
        """A token that may be sent now, or None when one must be fetched first."""
        ...

    async def token(self) -> str: ...

    async def refresh(self, stale: str) -> str:
        """Called after a 401 with the token that was refused; returns a fresh one."""
        ...

    def cancel(self) -> None:
        """Stop a fetch still running (the sync is over)."""
        ...


class StaticToken:
    """A personal access token. It cannot be refreshed: a 401 means it is wrong or revoked."""

    can_refresh = False
    generation = 0

    def __init__(self, token: str):
        self._token = token

    def __repr__(self) -> str:
        return "StaticToken(****)"

    def usable(self) -> str:
        return self._token

    async def token(self) -> str:
        return self._token

    async def refresh(self, stale: str) -> str:
        return self._token

    def cancel(self) -> None:
        pass


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
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        margin: float = REFRESH_MARGIN_SECONDS,
        patience: float = TOKEN_PATIENCE_SECONDS,
        backoff_base_seconds: float = 1.0,
        backoff_max_seconds: float = TOKEN_RETRY_MAX_SECONDS,
        rng: random.Random | None = None,
    ):
        """`patience`: how long the endpoint may keep failing before the credential is given up
        (0: one attempt, as the connection test wants)."""
        self._session = session
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._sleep = sleep
        self._margin = margin
        self._patience = patience
        self._backoff_base = backoff_base_seconds
        self._backoff_max = min(backoff_max_seconds, TOKEN_RETRY_MAX_SECONDS)
        self._rng = rng or random.Random()
        self._token: str | None = None
        self._refresh_at = 0.0  # from then on a new token is fetched, in the background
        self._usable_until = 0.0  # from then on requests wait for it
        self._fetching: asyncio.Task[str] | None = None
        self.requests = 0  # token endpoint calls, for tests and logs
        self.generation = 0  # tokens fetched

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self._client_id!r}, secret=****)"

    @property
    def endpoint(self) -> str:
        """The token endpoint, as messages name it (no credential is part of it)."""
        parts = urlsplit(self._token_url)
        return f"{parts.netloc}{parts.path}"

    def usable(self) -> str | None:
        now = self._clock()
        if self._token is None or now >= self._usable_until:
            return None
        if now >= self._refresh_at:
            self._start_fetch()  # in the background: this token may still be sent
        return self._token

    async def token(self) -> str:
        return self.usable() or await self._shared_fetch()

    async def refresh(self, stale: str) -> str:
        if self._token == stale:
            self._usable_until = 0.0  # refused: never send it again
        return self.usable() or await self._shared_fetch()

    def cancel(self) -> None:
        if self._fetching is not None:
            self._fetching.cancel()

    def _start_fetch(self) -> asyncio.Task[str]:
        if self._fetching is None or self._fetching.done():
            self._fetching = asyncio.ensure_future(self._fetch())
            self._fetching.add_done_callback(_retrieve)
        return self._fetching

    async def _shared_fetch(self) -> str:
        # Shielded: a caller that is cancelled leaves the fetch running for the others.
        return await asyncio.shield(self._start_fetch())

    async def _fetch(self) -> str:
        """Attempts until a token comes, the endpoint refuses, or its failures outlast the patience."""
        deadline = self._clock() + self._patience
        attempt = 0
        while True:
            try:
                return await self._attempt()
            except _Unavailable as failure:
                wait = self._pause(attempt, failure.retry_after)
                if self._clock() + wait > deadline:
                    raise TokenEndpointDown(
                        failure.status, urlsplit(self._token_url).path or "/",
                        f"the token endpoint {self.endpoint} kept failing"
                        + (f" for {self._patience:.0f} s" if self._patience else "")
                        + f" (last answer: {failure.answer})",
                        hint="the OAuth token endpoint is down or unreachable: rerun later") from None
                attempt += 1
                await self._sleep(wait)

    def _pause(self, attempt: int, retry_after: float | None) -> float:
        """Retry-After when the endpoint gave one; else exponential from the base, capped, with
        half of it jittered (so that clients started together do not ask together)."""
        if retry_after is not None:
            return retry_after
        step = min(self._backoff_max, self._backoff_base * 2 ** attempt)
        return step / 2 + self._rng.uniform(0, step / 2)

    async def _attempt(self) -> str:
        form = {"grant_type": "client_credentials", "client_id": self._client_id,
                "client_secret": self._client_secret}
        self.requests += 1
        sent_at = self._clock()  # the lifetime counts from before the request, to be safe
        try:
            # Never redirected: the secret goes to the configured endpoint only.
            async with self._session.post(self._token_url, data=form, allow_redirects=False) as response:
                body = await response.read()
                status, headers = response.status, response.headers
        except asyncio.TimeoutError:
            raise _Unavailable(None, "no answer in time") from None
        except aiohttp.ClientError as exc:
            raise _Unavailable(None, f"no answer ({type(exc).__name__})") from None
        payload = _json(body)
        if status >= 500 or status in TRANSIENT_STATUSES or (status == 200 and not _granted(payload)):
            raise _Unavailable(status, _describe(status, payload, body), _retry_after(headers))
        if status != 200:
            raise self._refusal(status, payload, body, headers)
        assert isinstance(payload, dict)
        self._keep(str(payload["access_token"]), payload.get("expires_in", 3600), sent_at)
        return self._token  # type: ignore[return-value]

    def _refusal(self, status: int, payload: object, body: bytes, headers: Mapping[str, str]) -> TokenEndpointError:
        path = urlsplit(self._token_url).path or "/"
        if 300 <= status < 400:
            return TokenEndpointError(status, path, f"the token endpoint {self.endpoint} answered a redirect to "
                                      f"{_host_of(headers.get('Location'))}, which is not followed (the client "
                                      "secret is posted to the configured endpoint only)",
                                      hint="set oauth_token_url to the endpoint itself")
        return TokenEndpointError(status, path, f"the token endpoint {self.endpoint} refused the client: "
                                  f"{_describe(status, payload, body)}", hint="check client_id and client_secret")

    def _keep(self, token: str, expires_in: object, sent_at: float) -> None:
        try:
            lifetime = float(expires_in)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            lifetime = 3600.0
        # A token that lives shorter than the margin is still usable: refresh at half its life.
        margin = min(self._margin, lifetime / 2)
        self._token = token
        self.generation += 1
        self._refresh_at = sent_at + lifetime - margin
        self._usable_until = sent_at + lifetime - margin / 2


def _retrieve(task: asyncio.Task[str]) -> None:
    """A background refresh's failure is seen by the next caller that waits for a token (it
    fetches again); retrieving it here keeps asyncio from reporting it as lost."""
    if not task.cancelled():
        task.exception()


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _granted(payload: object) -> bool:
    return isinstance(payload, dict) and bool(payload.get("access_token"))


def _describe(status: int, payload: object, body: bytes) -> str:
    """What the endpoint answered: its status and OAuth error, or a short excerpt of another body."""
    if isinstance(payload, dict) and (payload.get("error") or payload.get("error_description")):
        error, description = payload.get("error"), payload.get("error_description")
        detail = f"{error} ({description})" if error and description else str(error or description)
    elif status == 200:
        detail = "no access_token in the answer"
    else:
        text = " ".join(re.sub(r"<[^>]+>", " ", body[:300].decode("utf-8", "replace")).split())[:80]
        detail = text or "no OAuth error in the answer"
    return f"HTTP {status} {detail}"


def _retry_after(headers: Mapping[str, str]) -> float | None:
    seconds = retry_after_seconds(headers.get("Retry-After"), None)
    return None if seconds is None else min(seconds, TOKEN_PATIENCE_SECONDS)


def _host_of(location: str | None) -> str:
    return urlsplit(location).netloc or "another address" if location else "another address"
