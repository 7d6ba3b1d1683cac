"""Builds the one client a sync uses from its settings: session, token provider, governor."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiohttp

from xurrent_async.auth import ClientCredentials, StaticToken, TokenProvider
from xurrent_async.client import USER_AGENT, ClientOptions, XurrentClient
from xurrent_async.governor import RateGovernor
from xurrent_async.settings import Settings
from xurrent_async.tuning import DEFAULT_TUNING, Tuning


@contextlib.asynccontextmanager
async def open_client(settings: Settings, tuning: Tuning | None = None) -> AsyncIterator[XurrentClient]:
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
        auth: TokenProvider
        credential = settings.credentials[0]  # the pool comes next
        if credential.client_id is not None:
            assert settings.oauth_token_url
            auth = ClientCredentials(session, settings.oauth_token_url, credential.client_id, credential.secret,
                                     retry_attempts=settings.retry_attempts,
                                     backoff_base_seconds=tuning.backoff_base_seconds)
        else:
            auth = StaticToken(credential.secret)
        governor = RateGovernor(
            burst_limit=settings.burst_limit,
            burst_seconds=tuning.burst_seconds,
            hourly_limit=settings.rate_limit_per_hour,
            hour_seconds=tuning.hour_seconds,
        )
        options = ClientOptions(
            base_url=settings.base_url,
            account_id=settings.account_id,
            timeout_seconds=settings.request_timeout_seconds,
            retry_attempts=settings.retry_attempts,
            max_concurrency=settings.max_concurrency,
            backoff_base_seconds=tuning.backoff_base_seconds,
            backoff_max_seconds=tuning.backoff_max_seconds,
        )
        yield XurrentClient(session, auth, governor, options)
