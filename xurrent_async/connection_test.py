"""The setup form's connection test: one real request, and an answer a user can act on.

Unlike a sync it never waits or retries: a 429 is reported with the time the quota resets. Once the
connection works, one request per removal feed (archive, trash) says whether deletes can be
reflected: a token that may not read them is a warning beside the verdict, not a failure.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone

import aiohttp

from xurrent_async.auth import ClientCredentials, StaticToken, TokenProvider
from xurrent_async.client import USER_AGENT
from xurrent_async.errors import AuthenticationError
from xurrent_async.resources import REMOVAL_FEEDS
from xurrent_async.settings import Settings


async def check_connection(settings: Settings, warnings: list[str] | None = None) -> str | None:
    """None when the settings work; otherwise what is wrong, in words. Warnings (things that work
    only in part) are appended to `warnings`."""
    url = f"{settings.base_url}/organizations"
    timeout = aiohttp.ClientTimeout(total=settings.request_timeout_seconds)
    headers = {"X-Xurrent-Account": settings.account_id, "Accept": "application/json", "User-Agent": USER_AGENT}
    try:
        async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
            auth: TokenProvider
            credential = settings.credentials[0]  # every credential comes next
            if credential.client_id is not None:
                assert settings.oauth_token_url
                auth = ClientCredentials(session, settings.oauth_token_url, credential.client_id, credential.secret)
            else:
                auth = StaticToken(credential.secret)
            token = await auth.token()
            params = {"per_page": "1", "fields": "id"}
            bearer = {"Authorization": f"Bearer {token}"}
            async with session.get(url, params=params, headers=bearer, allow_redirects=False) as response:
                body = await response.read()
                problem = _verdict(settings, response.status, response.headers, body)
            if problem is None and warnings is not None:
                for feed in REMOVAL_FEEDS:
                    async with session.get(f"{settings.base_url}/{feed}", params={"per_page": "1"}, headers=bearer,
                                           allow_redirects=False) as response:
                        body = await response.read()
                        if response.status == 403:
                            warnings.append(
                                f"The token may not read /{feed} ({_message(body)}): the connection works, but "
                                "archived and trashed projects will not be marked deleted until the token's user "
                                "may read the archive and trash")
            return problem
    except AuthenticationError as exc:
        return f"The OAuth client credentials were refused: {exc}"
    except asyncio.TimeoutError:
        return (f"{settings.api_host} did not answer within {settings.request_timeout_seconds} s: "
                "check the region/environment (or base_url) and your network")
    except aiohttp.ClientError as exc:
        return (f"Cannot reach {settings.api_host} ({type(exc).__name__}): check the region/environment "
                "(or base_url) and that the host is reachable from here")


def _verdict(settings: Settings, status: int, headers: aiohttp.typedefs.LooseHeaders, body: bytes) -> str | None:
    if status == 200:
        return None
    message = _message(body)
    if status == 401:
        what = "client credentials" if settings.uses_oauth_client else "personal access token (oauth_token)"
        return f"Xurrent refused the {what}: it is wrong, expired or revoked ({message})"
    if status == 403:
        return f"The token has no permission to read organizations ({message})"
    if status == 404:
        return (f"Xurrent does not know account '{settings.account_id}' on {settings.api_host}: check account_id "
                f"and the region/environment ({message})")
    if status == 429:
        reset = headers.get("X-RateLimit-Reset") if hasattr(headers, "get") else None
        when = ""
        if reset and reset.strip().isdigit():
            when = " until " + datetime.fromtimestamp(int(reset), timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"The token's request quota is used up{when}: try again later or use another token"
    return f"Xurrent answered HTTP {status} for /organizations ({message})"


def _message(body: bytes) -> str:
    try:
        payload = json.loads(body)
    except ValueError:
        return "no details"
    if isinstance(payload, dict) and payload.get("message"):
        return str(payload["message"])
    return "no details"
