"""The setup form's connection test: one real request per credential, and an answer a user can act on.

Every credential is tried, one after another, and reported by its position, never by its value:
valid (with its quota left and when it resets), refused, or out of quota. The test fails when any
credential is refused or none has quota left; a problem that concerns them all (an unreachable
host, an unknown account) is said once. Unlike a sync it never waits or retries: a 429 is reported
with the time the quota resets. Once a credential works, one request per removal feed (archive,
trash) says whether deletes can be reflected: a user who may not read them (403), or a server
without them (404), is a warning beside the verdict, not a failure.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

import aiohttp

from xurrent_async.auth import TokenEndpointDown
from xurrent_async.client import USER_AGENT
from xurrent_async.errors import AuthenticationError
from xurrent_async.governor import header_number
from xurrent_async.resources import REMOVAL_FEEDS
from xurrent_async.session import token_provider
from xurrent_async.settings import Credential, Settings


@dataclass
class CredentialCheck:
    label: str
    valid: bool  # Xurrent accepted it
    has_quota: bool  # and it may send requests now
    text: str  # what to say about it, without its label
    common: bool = False  # a problem of the host or account, not of this credential
    remaining: float | None = None
    reset: float | None = None  # X-RateLimit-Reset, epoch seconds


async def check_connection(settings: Settings, warnings: list[str] | None = None,
                           notes: list[str] | None = None) -> str | None:
    """None when the settings work; otherwise what is wrong, in words. Warnings (things that work
    only in part) are appended to `warnings`; with several credentials, a line per credential to
    `notes`."""
    timeout = aiohttp.ClientTimeout(total=settings.request_timeout_seconds)
    headers = {"X-Xurrent-Account": settings.account_id, "Accept": "application/json", "User-Agent": USER_AGENT}
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
        checks: list[CredentialCheck] = []
        tokens: dict[str, str] = {}
        for credential in settings.credentials:  # one after another: their quotas can then be compared
            check, token = await _check(session, settings, credential)
            checks.append(check)
            if token is not None:
                tokens[credential.label] = token
        if warnings is not None:
            for credential in settings.credentials:
                token = tokens.get(credential.label)
                if token is not None:
                    await _check_feeds(session, settings, credential, token, warnings)
    several = len(checks) > 1
    if several and notes is not None:
        notes.extend(f"{_capital(c.label)}: {c.text}" for c in checks)
        notes.extend(_shared_users(checks))
    problems = [c for c in checks if not (c.valid and c.has_quota)]
    if not several or (problems and all(c.common for c in checks) and len({c.text for c in checks}) == 1):
        return None if not problems else problems[0].text  # one credential, or one problem for all
    if any(not c.valid for c in checks) or all(not c.has_quota for c in checks):
        return ("Not every credential works: " + "; ".join(f"{c.label}: {c.text}" for c in checks)
                + ". Fix or remove the credentials that fail (each is named by its position in the configuration)")
    return None


async def _check(session: aiohttp.ClientSession, settings: Settings,
                 credential: Credential) -> tuple[CredentialCheck, str | None]:
    """One request with the credential; the check, and its bearer token if it is valid."""
    label = credential.label
    try:
        # One attempt at the token endpoint: a connection test says what it answered, it does not wait.
        token = await token_provider(session, settings, credential, patience=0).token()
        params = {"per_page": "1", "fields": "id"}
        async with session.get(f"{settings.base_url}/organizations", params=params,
                               headers={"Authorization": f"Bearer {token}"}, allow_redirects=False) as response:
            body = await response.read()
            check = _verdict(settings, label, response.status, response.headers, body)
            return check, token if check.valid else None
    except AuthenticationError as exc:
        return CredentialCheck(label, False, False, f"The OAuth client credentials were refused: {exc}"), None
    except TokenEndpointDown as exc:
        return CredentialCheck(label, False, False, f"The OAuth token endpoint did not issue a token: {exc}",
                               common=True), None
    except asyncio.TimeoutError:
        return CredentialCheck(label, False, False, f"{settings.api_host} did not answer within "
                               f"{settings.request_timeout_seconds} s: check the region/environment (or base_url) "
                               "and your network", common=True), None
    except aiohttp.ClientError as exc:
        return CredentialCheck(label, False, False, f"Cannot reach {settings.api_host} ({type(exc).__name__}): check "
                               "the region/environment (or base_url) and that the host is reachable from here",
                               common=True), None


def _verdict(settings: Settings, label: str, status: int, headers: Mapping[str, str], body: bytes) -> CredentialCheck:
    message = _message(body)
    remaining = header_number(headers.get("X-RateLimit-Remaining"))
    limit = header_number(headers.get("X-RateLimit-Limit"))
    reset = header_number(headers.get("X-RateLimit-Reset"))
    if status == 200:
        quota = ""
        if remaining is not None:
            quota = f"; {remaining:,.0f}" + (f" of {limit:,.0f}" if limit is not None else "") + " requests left"
            if reset is not None:
                quota += f", the quota resets at {_utc(reset)}"
        return CredentialCheck(label, True, True, "valid" + quota, remaining=remaining, reset=reset)
    if status == 401:
        what = "client credentials" if settings.uses_oauth_client else "personal access token (oauth_token)"
        return CredentialCheck(label, False, False, f"Xurrent refused the {what}: it is wrong, expired or revoked "
                                                    f"({message})")
    if status == 403:
        return CredentialCheck(label, False, False, f"The token has no permission to read organizations ({message})")
    if status == 404:
        return CredentialCheck(label, False, False, f"Xurrent does not know account '{settings.account_id}' on "
                               f"{settings.api_host}: check account_id and the region/environment ({message})",
                               common=True)
    if status == 429:
        when = f" until {_utc(reset)}" if reset is not None else ""
        return CredentialCheck(label, True, False, f"The token's request quota is used up{when}: try again later or "
                                                   "use another token", remaining=0, reset=reset)
    return CredentialCheck(label, False, False, f"Xurrent answered HTTP {status} for /organizations ({message})",
                           common=True)


async def _check_feeds(session: aiohttp.ClientSession, settings: Settings, credential: Credential, token: str,
                       warnings: list[str]) -> None:
    who = "The token" if len(settings.credentials) == 1 else _capital(credential.label)
    for feed in REMOVAL_FEEDS:
        async with session.get(f"{settings.base_url}/{feed}", params={"per_page": "1"},
                               headers={"Authorization": f"Bearer {token}"}, allow_redirects=False) as response:
            body = await response.read()
            if response.status == 403:
                warnings.append(
                    f"{who} may not read /{feed} ({_message(body)}): the connection works, but archived and trashed "
                    "projects will not be marked deleted until the token's user may read the archive and trash")
            elif response.status == 404:
                warnings.append(
                    f"Xurrent answered 404 for /{feed} ({_message(body)}): the connection works, but this server "
                    "offers no archive and trash, so archived and trashed projects will not be marked deleted")


def _shared_users(checks: list[CredentialCheck]) -> list[str]:
    """Checked one after another, credentials of one user show one quota going down by one request
    from each to the next (distinct users' quotas do not move together)."""
    notes = []
    for i, first in enumerate(checks):
        for j in range(i + 1, len(checks)):
            later = checks[j]
            if first.remaining is None or later.remaining is None or first.reset is None or first.reset != later.reset:
                continue
            if first.remaining - (j - i) <= later.remaining <= first.remaining - 1:
                notes.append(f"{_capital(first.label)} and {later.label} seem to belong to one Xurrent user (their "
                             "quota went down together): the limits belong to the user, so the second adds nothing; "
                             "give each credential of a distinct user")
    return notes


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _message(body: bytes) -> str:
    try:
        payload = json.loads(body)
    except ValueError:
        return "no details"
    if isinstance(payload, dict) and payload.get("message"):
        return str(payload["message"])
    return "no details"
