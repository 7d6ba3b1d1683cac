"""Simulator switches. A Simulator reads its config on every request, so tests may change fields
while it runs and the next request sees them."""

from __future__ import annotations

from dataclasses import dataclass, field

COLLECTIONS: tuple[str, ...] = ("organizations", "products", "projects")


@dataclass
class FaultConfig:
    """Probabilities in [0, 1], drawn per authenticated collection/record request from a seeded RNG."""

    html_5xx: float = 0.0  # 502 or 503 with a text/html proxy page
    reset: float = 0.0  # connection aborted without a response
    stall: float = 0.0  # sleep stall_seconds, then answer normally
    stall_seconds: float = 60.0
    truncated_json: float = 0.0  # 200, JSON content type, body cut in half
    invalid_json: float = 0.0  # 200, JSON content type, body is not JSON
    not_a_list: float = 0.0  # 200 with a JSON object instead of an array
    rate_429: float = 0.0  # injected 429 storm (does not consume quota)
    retry_after_seconds: int = 1  # Retry-After of injected 429s
    retry_after_http_date: float = 0.0  # share of all 429s (injected and real) with an HTTP-date
    omit_retry_after: bool = False  # 429s without Retry-After


@dataclass
class SimConfig:
    """The data set (records, seed, account, history, hot seconds, offset, template_display,
    timestamp precision, bulk update) is fixed when the Simulator is built; every other field may
    change while it runs."""

    records: int | dict[str, int] = 1000  # per collection; a dict names each (missing = 0)
    seed: int = 1
    account_id: str = "sim-account"
    tokens: tuple[str, ...] = ("sim-token",)  # personal access tokens (never expire)
    oauth_clients: dict[str, str] = field(default_factory=lambda: {"sim-client": "sim-secret"})
    # The rate limits belong to the authenticated user: user name -> the personal tokens and OAuth
    # client ids it owns (every access token issued to a client is that client's user's). A
    # credential no user lists is a user of its own.
    users: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # What one burst window counts, which the docs leave open: "user" (like the hourly quota),
    # "token" (each access token its own window) or "host" (every user's requests from one client
    # address in one window). The hourly quota is always the user's.
    burst_scope: str = "user"
    # Another integration of every user, spending this many requests a second of the user's hourly
    # quota on the simulator's clock (its requests are not served, only counted).
    other_integration_per_second: float = 0.0
    token_ttl_seconds: float = 3600.0
    # (down, every): POST /token answers 503 for the first `down` seconds of every `every` seconds
    # on the simulator's clock (an outage of the token endpoint while the API is healthy).
    token_outage: tuple[float, float] | None = None
    token_expires_in: float | None = None  # what POST /token reports as expires_in; None: the real ttl
    per_page_default: int = 20
    per_page_max: int = 100
    record_cap: int = 100_000
    # X-Pagination-Throttled on "all" pages of an over-cap query, only the "last" (capped) one, or
    # "none": the docs name the header for some collections only ("most notably" audit entries and
    # notes); a capped walk then just ends, and only its count against Total-Entries tells.
    throttled_header: str = "all"
    # X-Pagination-Total-Entries (and -Total-Pages): "exact", or "capped": counted up to the record
    # cap at most, as search engines count hits; undocumented either way.
    total_entries: str = "exact"
    hourly_limit: int | None = 3600
    hour_seconds: float = 3600.0
    burst_limit: int | None = 20
    burst_seconds: float = 2.0
    latency: float = 0.0
    latency_jitter: float = 0.0
    faults: FaultConfig = field(default_factory=FaultConfig)
    changes_per_second: float = 0.0  # share of each collection's records changed per clock second
    history_days: int = 3 * 365
    data_end: float | None = None  # None: clock now at start minus 60 s
    hot_seconds: int = 3
    hot_fraction: float = 0.02
    # How the server stores and compares timestamps, which the docs leave open (they print whole
    # seconds): "second", or "fractional": stored with a fraction (as a Rails app on a microsecond
    # column would), printed truncated to the second, filtered and sorted at the fraction.
    timestamp_precision: str = "second"
    # This many products and projects (half each) updated within one minute an hour before the data
    # ends, as a bulk import or mass edit would (Simulator.bulk_update does it at any time).
    bulk_update: int = 0
    utc_offset_minutes: int = -300
    link_base_url: str | None = None
    forbidden: tuple[str, ...] = ()
    # collection -> field names this server no longer knows (a field renamed or withdrawn after the
    # connector was written): `fields=` naming one is `400 Unknown fields: ...`, records lack it.
    withdrawn_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Archive and trash (removals.py). Whether restoring a project changes its updated_at is
    # unconfirmed: both behaviours are played. Each feed also lists this many entries of other types.
    restore_touches_updated_at: bool = True
    # Whether renaming a referenced record (Simulator.rename) also changes the updated_at of the
    # records that point at it: the docs do not say. Off (the harder case for a copy) by default.
    rename_touches_references: bool = False
    other_feed_entries: int = 20
    # Where the docs are silent or loose, the other answers (the defaults are what the docs show):
    # a template reference's display property: "subject" (the docs' examples), "name", or "both".
    template_display: str = "subject"
    # share of records whose timestamps come without an offset (the documented `datetime` form
    # `yyyy-mm-ddThh:mm`, and `…:ss`, in UTC) and whose ids come as strings of digits (loose.py).
    loose_values: float = 0.0
    # collection -> documented fields a list refuses in `fields=` (as it refuses `note`), answered
    # `400 Fields not available in a collection: ...`; records still have them (GET /<id>, truth).
    refused_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # the message of every 400 about `fields=` instead of the simulator's wording (e.g. one that
    # names no field): the connector must find the refused fields without reading it.
    fields_error_message: str | None = None
    # no archive or trash on this server: /archive and /trash answer 404.
    feeds_missing: bool = False
    # which feed entries carry the typed reference ("project": {"id", ...}): "always" (the docs'
    # examples, list and GET /<feed>/<id>), "single" (only GET /<feed>/<id>; the docs list the
    # collection fields as `id created_at archived_by archived`), or "never".
    feed_references: str = "always"

    def user_of(self, credential: str) -> str:
        """The user a personal token or an OAuth client id belongs to."""
        for user, owned in self.users.items():
            if credential in owned:
                return user
        return credential

    def record_count(self, collection: str) -> int:
        if isinstance(self.records, int):
            return self.records
        return int(self.records.get(collection, 0))
