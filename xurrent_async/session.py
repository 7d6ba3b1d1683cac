"""Builds the one client a sync uses from its settings: session, and a pool of credentials, each
with its token provider and rate governor."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiohttp

from xurrent_async.auth import TOKEN_PATIENCE_SECONDS, ClientCredentials, StaticToken, TokenProvider
from xurrent_async.client import USER_AGENT, ClientOptions, XurrentClient
from xurrent_async.governor import RateGovernor
from xurrent_async.pool import CredentialPool, Member
from xurrent_async.settings import Credential, Settings
from xurrent_async.state import BurstMemory
from xurrent_async.tuning import DEFAULT_TUNING, Tuning


def token_provider(session: aiohttp.ClientSession, settings: Settings, credential: Credential,
                   tuning: Tuning = DEFAULT_TUNING, patience: float = TOKEN_PATIENCE_SECONDS) -> TokenProvider:
    """A credential's source of bearer tokens: its personal token, or its OAuth client's grants
    (`patience`: how long its token endpoint may keep failing before the credential is given up)."""
    if credential.client_id is None:
        return StaticToken(credential.secret)
    assert settings.oauth_token_url
    return ClientCredentials(session, settings.oauth_token_url, credential.client_id, credential.secret,
                             patience=patience, backoff_base_seconds=tuning.backoff_base_seconds,
                             backoff_max_seconds=tuning.backoff_max_seconds)


def credential_pool(session: aiohttp.ClientSession, settings: Settings,
                    tuning: Tuning = DEFAULT_TUNING, burst_memory: BurstMemory | None = None) -> CredentialPool:
    """One member per configured credential: each its own tokens, governor and budget.
    `burst_memory`: an earlier sync's finding that they share one burst window."""
    members = []
    for credential in settings.credentials:
        governor = RateGovernor(
            burst_limit=settings.burst_limit,
            burst_seconds=tuning.burst_seconds,
            hourly_limit=settings.rate_limit_per_hour,
            hour_seconds=tuning.hour_seconds,
            budget_per_hour=settings.credential_budget_per_hour,
            label=credential.label,
        )
        auth = token_provider(session, settings, credential, tuning)
        members.append(Member(credential.label, credential.position, auth, governor))
    return CredentialPool(members, burst_memory=burst_memory)


@contextlib.asynccontextmanager
async def open_client(settings: Settings, tuning: Tuning | None = None,
                      burst_memory: BurstMemory | None = None) -> AsyncIterator[XurrentClient]:
    tuning = tuning or DEFAULT_TUNING
    connector = aiohttp.TCPConnector(limit=settings.max_concurrency + 2, ttl_dns_cache=300)
    timeout = aiohttp.ClientTimeout(total=settings.request_timeout_seconds)
    headers = {
        "X-Xurrent-Account": settings.account_id,
        "Accept": "application/json",
        "Accept-Encoding": "gzip, deflate",
        "User-Agent": USER_AGENT,
    }
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers) as session:
        # aiohttp sends a GET once more, by itself, when a reused connection drops before the
        # answer; the server may have counted the first, and the governor never saw the second, so
        # under a full burst window it drew a 429 (measured: about one per reset). Every attempt
        # goes through the governor instead (the client's own retries). A private switch, the one
        # aiohttp's test utilities use; if it ever goes away, the old behaviour comes back.
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        options = ClientOptions(
            base_url=settings.base_url,
            account_id=settings.account_id,
            timeout_seconds=settings.request_timeout_seconds,
            retry_attempts=settings.retry_attempts,
            max_concurrency=settings.max_concurrency,
            backoff_base_seconds=tuning.backoff_base_seconds,
            backoff_max_seconds=tuning.backoff_max_seconds,
        )
        pool = credential_pool(session, settings, tuning, burst_memory)
        try:
            yield XurrentClient(session, pool, options)
        finally:
            await pool.aclose()
