"""The validated configuration as a typed, frozen value, and what derives from it. Built by
`parse_settings` (config/settings.py); nothing here parses or validates."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Credential:
    """One credential of the pool: a personal access token, or an OAuth client's id and secret.
    It is named by its kind and position in the configuration ("token 2"), never by its value:
    not even the client id shows in its repr."""

    kind: str  # "token" or "client"
    position: int  # 1-based, in the order of the configuration
    secret: str = field(repr=False)  # the personal access token, or the client secret
    client_id: str | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.position}"


@dataclass(frozen=True)
class Settings:
    """Validated configuration. Build it with `parse_settings`; secrets are excluded from repr."""

    account_id: str
    credentials: tuple[Credential, ...]  # one or more, all of one kind
    region: str
    environment: str
    base_url: str
    oauth_token_url: str | None
    initial_sync_days: int | None
    enable_incremental_sync: bool
    max_records_per_page: int
    request_timeout_seconds: int
    retry_attempts: int
    sync_frequency_hours: int | None
    max_concurrency: int
    rate_limit_per_hour: int
    burst_limit: int
    credential_budget_per_hour: int | None
    lookback_minutes: int
    full_resync_days: int = 7

    @property
    def projects_full_resync_days(self) -> int:
        """The deprecated name of `full_resync_days`, for callers written before it applied to every table."""
        return self.full_resync_days

    @property
    def uses_oauth_client(self) -> bool:
        """True when tokens come from the OAuth client credentials grant, not personal tokens."""
        return self.credentials[0].kind == "client"

    @property
    def api_host(self) -> str:
        """Lower-case host name of `base_url` (IPv6 without brackets), without the port."""
        return urlsplit(self.base_url).hostname or ""
