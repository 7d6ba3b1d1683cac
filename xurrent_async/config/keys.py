"""Every setting a user may give, declared once: one `Key` row each.

The rows drive the parsing (`config/settings.py` and `config/reader.py`), the setup form (`connector.py`), the
`configuration.json` template and the README's configuration table (`python -m tests.readme_settings`
writes both; tests fail when they disagree). Adding a setting is one more row here, plus its field in
`Settings` (`config/model.py`) when the sync reads it. Data only: no parsing, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = ["ALIASES", "BY_NAME", "ENVIRONMENTS", "KEYS", "KNOWN_KEYS", "REGIONS", "SECRET_KEYS", "Key", "Kind"]

# text: one value, pasted as issued (no inner spaces: it is sent in a header).
# list: comma-separated credentials, each named by its position in messages, never by its value.
# url: an absolute http(s) endpoint.  int: a whole number in [low, high].
# choice: one of `choices`, case-insensitive.  toggle: true or false.
Kind = Literal["text", "list", "url", "int", "choice", "toggle"]

REGIONS = ("global", "au", "uk", "ch", "us")
ENVIRONMENTS = ("production", "qa", "demo")

_POOL = ("Each must belong to a different Xurrent user or application: the rate limits (3,600 requests an "
         "hour) belong to the user, so two credentials of one user add nothing.")


@dataclass(frozen=True)
class Key:
    name: str
    kind: Kind
    label: str  # the setup form's label
    help: str  # what it is for: the README's "meaning" (Markdown code spans) and the form's description
    default: int | bool | str | None = None  # what unset means; None: unset stays unset
    low: int = 0  # int: allowed range
    high: int = 0
    choices: tuple[str, ...] = ()  # choice: allowed values, first shown first
    secret: bool = False  # masked in every message, a password field in the form
    required: bool = False  # unconditionally; the auth keys' either-or rule is in `rule`
    unset: str = ""  # int without a default: what empty means, completing "or empty …"
    rule: str = ""  # what is allowed beyond the kind, for the README and the form
    noun: str = ""  # list: what one entry is called in messages ("token 2 of 3")
    example: str = ""  # url: a well-formed value, for messages and the form's placeholder
    template: str | None = None  # configuration.json's value; None: the default as text
    alias_of: str = ""  # a deprecated name of that key: read when that key is not given, with a warning
    too_low: str = ""  # int: why a value below `low` is refused, said in its message

    def allowed(self) -> str:
        """What values are allowed, as messages say it ("allowed 1–64 (default 8)"); "" when the
        kind has no fixed set or range."""
        if self.kind == "int":
            span = f"allowed {self.low:,}–{self.high:,}"
            if self.default is None:
                return f"{span}, or empty {self.unset}"
            return f"{span} (default {self.default:,})"
        if self.kind == "choice":
            return f"allowed {', '.join(self.choices)} (default {self.default})"
        if self.kind == "toggle":
            return f"allowed true or false (default {str(self.default).lower()})"
        return ""

    @property
    def values(self) -> str:
        """What may be given, for the README's table: the allowed set or range, else the rule."""
        return self.allowed().removeprefix("allowed ") or self.rule

    @property
    def description(self) -> str:
        """The setup form's help text: what it is for, then what may be given."""
        sentence = self.allowed() or self.rule
        text = f"{self.help} {sentence[:1].upper()}{sentence[1:]}." if sentence else self.help
        return text.replace("`", "")  # the form shows plain text

    @property
    def template_value(self) -> str:
        """The key's value in the configuration.json template: always text (the SDK's rule)."""
        if self.template is not None:
            return self.template
        if self.default is None:
            return ""
        return str(self.default).lower() if isinstance(self.default, bool) else str(self.default)


KEYS: tuple[Key, ...] = (
    Key("oauth_token", "list", "Personal access tokens", secret=True, noun="token",
        help=f"One or more personal access tokens, separated by commas. {_POOL} "
             "Leave empty when using OAuth clients.",
        rule="required unless both `client_id` and `client_secret` are set",
        template="<YOUR_XURRENT_PERSONAL_ACCESS_TOKEN>"),
    Key("client_id", "list", "OAuth client IDs", noun="client id",
        help="One or more OAuth client ids, separated by commas, instead of personal access tokens; "
             f"tokens are fetched and refreshed per client. {_POOL}",
        rule="both `client_id` and `client_secret` or neither, as many of each; not together with `oauth_token`",
        template="<YOUR_XURRENT_OAUTH_CLIENT_ID_OR_EMPTY>"),
    Key("client_secret", "list", "OAuth client secrets", secret=True, noun="secret",
        help="The secret of each client id, in the same order, separated by commas "
             "(client 2 is the second id with the second secret).",
        rule="as many as client ids",
        template="<YOUR_XURRENT_OAUTH_CLIENT_SECRET_OR_EMPTY>"),
    Key("account_id", "text", "Account ID", required=True,
        help="Your Xurrent account id, sent as `X-Xurrent-Account`.",
        rule="required",
        template="<YOUR_XURRENT_ACCOUNT_ID>"),
    Key("region", "choice", "Region", choices=REGIONS, default="global",
        help="Where your account lives (`global` is xurrent.com, `au` is au.xurrent.com, …)."),
    Key("environment", "choice", "Environment", choices=ENVIRONMENTS, default="production",
        help="The Xurrent environment; `demo` has only the `global` region."),
    Key("base_url", "url", "REST base URL", example="https://api.xurrent.com/v1",
        help="Override of the REST base, e.g. `http://127.0.0.1:8080/v1` for a local simulator.",
        rule="must use https (plain http only for loopback hosts); empty: derived from region and environment "
             "(`https://api.xurrent.com/v1`, `https://api.au.xurrent.com/v1`, …)"),
    Key("oauth_token_url", "url", "OAuth token URL", example="https://oauth.xurrent.com/token",
        help="Override of the token endpoint; used only with OAuth clients.",
        rule="empty: derived from the REST host (`api.` becomes `oauth.`, path `/token`)"),
    Key("initial_sync_days", "int", "Initial sync days", low=1, high=365, unset="for full history",
        help="How many days of history the first sync reads. That history is kept: every later full re-read "
             "starts where the first sync began; a larger value set later widens it, a smaller one never narrows it."),
    Key("enable_incremental_sync", "toggle", "Incremental sync", default=True,
        help="On: read the changes since the last sync; off: re-read everything at each sync."),
    Key("max_records_per_page", "int", "Records per page", low=1, high=100, default=100,
        help="Page size of each request."),
    Key("request_timeout_seconds", "int", "Request timeout (seconds)", low=10, high=300, default=30,
        help="How long one request may take."),
    Key("retry_attempts", "int", "Retry attempts", low=1, high=10, default=3,
        help="Retries for server errors, timeouts, network errors and unusable responses."),
    Key("sync_frequency_hours", "int", "Sync frequency (hours)", low=1, high=24, unset="to leave it unset",
        help="How often Fivetran runs the sync; used to warn when the quota cannot finish a sync "
             "within one interval.",
        template="6"),
    Key("max_concurrency", "int", "Max concurrency", low=1, high=64, default=8,
        help="Requests in flight across all streams."),
    Key("rate_limit_per_hour", "int", "Hourly request quota", low=1, high=1_000_000, default=3600,
        help="Each user's hourly request quota."),
    Key("burst_limit", "int", "Burst limit", low=1, high=10_000, default=20,
        help="Requests per 2 seconds, per user."),
    # An average-rate budget per credential below its user's quota, to leave the rest to other
    # integrations of that user.
    Key("credential_budget_per_hour", "int", "Requests per hour per credential", low=1, high=1_000_000,
        unset="to use the whole quota",
        help="At most this many requests an hour on average per credential (with a burst allowance of "
             "`burst_limit`), below the quota, to leave the rest of each user's quota to its other "
             "integrations: e.g. `2400` leaves 1,200 an hour."),
    Key("lookback_minutes", "int", "Lookback (minutes)", low=1, high=1440, default=5,
        help="Overlap re-read at each incremental pass: it catches changes committed after their window was "
             "read, and a server clock ahead of its database.",
        too_low="less than a minute of lookback leaves no guard against a server clock ahead of its database, "
                "nor against changes committed after their window was read"),
    # Copied names (`support_team_name`) and quiet restores change no record's updated_at: only a
    # full re-read sees them.
    Key("full_resync_days", "int", "Full re-read (days)", low=0, high=365, default=7,
        help="Every this many days each table is re-read in full instead of its changes, at most one table "
             "per sync: names copied from referenced records (`support_team_name`, `parent_name`, …) are "
             "refreshed, restored projects come back and fields the API accepts again are asked for again; "
             "`0`: never."),
    Key("projects_full_resync_days", "int", "Projects full re-read (days, deprecated)", low=0, high=365,
        alias_of="full_resync_days", unset="to use full_resync_days", template="",
        help="Deprecated: the former name of `full_resync_days`, when it re-read projects only. Still read, "
             "for every table and with a warning, when `full_resync_days` is not set; rename it."),
)

BY_NAME = MappingProxyType({k.name: k for k in KEYS})
KNOWN_KEYS = frozenset(BY_NAME)
SECRET_KEYS = frozenset(k.name for k in KEYS if k.secret)
ALIASES = MappingProxyType({k.name: k.alias_of for k in KEYS if k.alias_of})  # deprecated name -> current name
