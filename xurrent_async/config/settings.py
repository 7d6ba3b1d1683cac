"""Configuration parsing and validation, driven by the rows of `config/keys.py`.

The SDK hands `update()` a dict of *string* values. `parse_settings` turns it into a typed, frozen
`Settings`, or raises one `ConfigurationError` that lists every problem at once, so a user fixes the
whole configuration in one round trip instead of one key per failed sync. Each key is read by its
row's kind (range, choices, default); what ties keys together (one auth mode, the URLs derived from
region and environment) is written out below. Nothing here does I/O.

Secrets (`SECRET_KEYS`) never reach a message: problems show them through `mask()`, and `Settings`
leaves them out of its repr/str.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit, urlunsplit

from ..errors import ConfigurationError
from .keys import BY_NAME, ENVIRONMENTS, KEYS, KNOWN_KEYS, REGIONS, SECRET_KEYS, Key

__all__ = [
    "ENVIRONMENTS",
    "KNOWN_KEYS",
    "REGIONS",
    "SECRET_KEYS",
    "Credential",
    "Settings",
    "mask",
    "parse_settings",
]

# Registrable domain per environment; a region other than global prefixes it (`au.xurrent.com`).
_DOMAINS = {"production": "xurrent.com", "qa": "xurrent.qa", "demo": "xurrent-demo.com"}
# Demo is a single global instance; asking for `au` demo would silently hit the wrong data.
_REGIONLESS_ENVIRONMENTS = frozenset({"demo"})

# Values sent in HTTP headers or form bodies: an inner space or newline is a paste error, and a
# newline in a header value would be header injection.
_NO_INNER_SPACE_KEYS = frozenset(k.name for k in KEYS if k.kind in ("text", "list"))
_URL_KEYS = frozenset(k.name for k in KEYS if k.kind == "url")

_PLACEHOLDER = re.compile(r"<.*>", re.DOTALL)
# ASCII digits only: int() would also take "1_000" and non-ASCII digits, which no user means.
_INTEGER = re.compile(r"[+-]?[0-9]+")
_MAX_SHOWN = 60  # long values are cut in messages; the start is enough to recognise them


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
    projects_full_resync_days: int = 7

    @property
    def uses_oauth_client(self) -> bool:
        """True when tokens come from the OAuth client credentials grant, not personal tokens."""
        return self.credentials[0].kind == "client"

    @property
    def api_host(self) -> str:
        """Lower-case host name of `base_url` (IPv6 without brackets), without the port."""
        return urlsplit(self.base_url).hostname or ""


def mask(value: str) -> str:
    """A stand-in for a secret in messages: at most its first 2 characters and its length.

    Short values get only `****`: two characters of a short secret would give away too much.
    """
    if len(value) >= 16:
        return f"{value[:2]}…({len(value)} chars)"
    return "****"


def parse_settings(configuration: Mapping[str, object]) -> tuple[Settings, list[str]]:
    """Returns the settings and a list of warnings (e.g. unknown keys).

    Raises ConfigurationError listing EVERY problem at once.
    """
    if not isinstance(configuration, Mapping):
        raise ConfigurationError(
            [f"configuration: expected a mapping of keys to text values, got {_type_name(configuration)}"]
        )
    reader = _Reader(configuration)
    problems = reader.problems
    warnings = reader.warnings

    account_id = reader.text("account_id")
    if account_id is None and not reader.is_invalid("account_id"):
        reason = reader.unset_reason("account_id")
        problems.append(f"account_id: required (your Xurrent account id), but it is {reason}")

    credentials = _read_auth(reader)
    uses_client = bool(credentials) and credentials[0].kind == "client"

    choices = {k.name: reader.choice(k) for k in KEYS if k.kind == "choice"}
    region, environment = choices["region"], choices["environment"]
    if (
        environment in _REGIONLESS_ENVIRONMENTS
        and region != "global"
        and not reader.is_invalid("region", "environment")
    ):
        problems.append(
            f"region: {_show('region', reader.raw('region'))} is not available with environment "
            f'"{environment}"; the {environment} environment has only the global region '
            "(leave region empty or set it to global)"
        )

    base_url, base_parts = _read_base_url(reader, region, environment)
    oauth_token_url = _read_token_url(reader, base_parts, uses_client)

    read = {"int": reader.integer, "toggle": reader.boolean}
    values = {k.name: read[k.kind](k) for k in KEYS if k.kind in read}
    budget, quota = values["credential_budget_per_hour"], values["rate_limit_per_hour"]
    if budget is not None and quota is not None and budget >= quota:
        warnings.append(
            f"credential_budget_per_hour: {budget:,} is not below rate_limit_per_hour ({quota:,}), so it changes "
            "nothing; set it lower to leave part of each user's quota to other integrations"
        )

    if problems:
        raise ConfigurationError(problems, warnings)

    settings = Settings(
        account_id=account_id or "",
        credentials=credentials,
        base_url=base_url,
        oauth_token_url=oauth_token_url,
        **choices,
        **values,
    )
    return settings, warnings


def _read_auth(reader: _Reader) -> tuple[Credential, ...]:
    """One auth mode must be fully set: personal tokens, or client ids with their secrets. Each
    key takes one or more values separated by commas; ids and secrets pair by position."""
    tokens = reader.entries(BY_NAME["oauth_token"])
    client_ids = reader.entries(BY_NAME["client_id"])
    client_secrets = reader.entries(BY_NAME["client_secret"])
    # A value that is present but invalid still counts as set: its own problem is already reported,
    # and saying "missing" as well would be wrong.
    has_token = tokens is not None or reader.is_invalid("oauth_token")
    has_id = client_ids is not None or reader.is_invalid("client_id")
    has_secret = client_secrets is not None or reader.is_invalid("client_secret")

    problems = reader.problems
    if has_id != has_secret:
        missing, present = ("client_secret", "client_id") if has_id else ("client_id", "client_secret")
        text = (
            f"{missing}: required when {present} is set (OAuth client credentials need both), "
            f"but it is {reader.unset_reason(missing)}"
        )
        if has_token:
            text += f"; or remove {present} to use the personal access token(s) in oauth_token"
        problems.append(text)
    elif has_id and has_token:
        problems.append(
            "oauth_token: both personal access tokens (oauth_token) and OAuth client credentials "
            "(client_id, client_secret) are set; use one: remove oauth_token to use the OAuth clients, "
            "or remove client_id and client_secret to use the personal access tokens"
        )
    elif not has_token and not has_id:
        problems.append(
            f"oauth_token: required (one or more personal access tokens, separated by commas) unless "
            f"client_id and client_secret are both set; oauth_token is {reader.unset_reason('oauth_token')} "
            "and client_id and client_secret are not set"
        )
    if has_token and not has_id and tokens is not None:
        _no_twice(reader, "oauth_token", "tokens", "the same token", tokens)
        return tuple(Credential("token", i, token) for i, token in enumerate(tokens, 1))
    if has_id and has_secret and not has_token and client_ids is not None and client_secrets is not None:
        if len(client_ids) != len(client_secrets):
            fewer = "client_secret" if len(client_secrets) < len(client_ids) else "client_id"
            problems.append(
                f"{fewer}: {_count(len(client_ids), 'client id')} but {_count(len(client_secrets), 'secret')}; "
                "they pair by position (client 1 is the first id with the first secret), so give as many of each"
            )
            return ()
        _no_twice(reader, "client_id", "clients", "the same client id", client_ids)
        return tuple(Credential("client", i, secret, client_id)
                     for i, (client_id, secret) in enumerate(zip(client_ids, client_secrets, strict=True), 1))
    return ()


def _no_twice(reader: _Reader, key: str, nouns: str, what: str, values: tuple[str, ...]) -> None:
    """The same credential twice would be one user's quota counted as two."""
    seen: dict[str, list[int]] = {}
    for position, value in enumerate(values, 1):
        seen.setdefault(value, []).append(position)
    for positions in seen.values():
        if len(positions) > 1:
            reader.problems.append(
                f"{key}: {nouns} {_positions(positions)} are {what}; give each credential once (the rate limits "
                "belong to the user or application, so a second copy adds nothing)"
            )


def _positions(positions: list[int]) -> str:
    text = [str(p) for p in positions]
    return text[0] if len(text) == 1 else ", ".join(text[:-1]) + " and " + text[-1]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _read_base_url(reader: _Reader, region: str, environment: str) -> tuple[str, SplitResult | None]:
    """The REST base: the override when given, else derived from region and environment."""
    override = reader.text("base_url")
    if override is not None:
        parts = _check_url(reader, "base_url", override)
        if parts is None:
            return "", None
        # Only non-default values can have been meant to pick a host; say that they did not.
        ignored = [key for key, value in (("region", region), ("environment", environment))
                   if value != BY_NAME[key].default]
        if ignored:
            reader.warnings.append(f"{' and '.join(ignored)}: ignored because base_url is set")
        return urlunsplit(parts), parts
    if reader.is_invalid("base_url", "region", "environment"):
        return "", None
    if environment in _REGIONLESS_ENVIRONMENTS and region != "global":
        return "", None  # reported by the caller
    domain = _DOMAINS[environment]
    if region != "global":
        domain = f"{region}.{domain}"
    url = f"https://api.{domain}/v1"
    return url, urlsplit(url)


def _read_token_url(reader: _Reader, base_parts: SplitResult | None, uses_client: bool) -> str | None:
    override = reader.text("oauth_token_url")
    parts = _check_url(reader, "oauth_token_url", override) if override is not None else None
    if not uses_client:
        if override is not None:
            reader.warnings.append(
                "oauth_token_url: ignored because a personal access token (oauth_token) is used; "
                "it applies only to OAuth client credentials"
            )
        return None
    if override is not None:
        return urlunsplit(parts) if parts is not None else None
    if base_parts is None or reader.is_invalid("oauth_token_url"):
        return None  # base_url's own problem is already reported
    derived = _derive_token_url(base_parts)
    if derived is None:
        reader.problems.append(
            f"oauth_token_url: cannot be derived from base_url host {json.dumps(base_parts.hostname)} "
            '(it neither starts with "api." nor is a loopback host); set oauth_token_url, '
            "e.g. https://oauth.xurrent.com/token"
        )
    return derived


def _derive_token_url(base: SplitResult) -> str | None:
    """`api.<domain>` → `oauth.<domain>`; a loopback host (a local simulator) serves both."""
    host = base.hostname or ""
    if host.startswith("api."):
        host = "oauth." + host[len("api.") :]
    elif not _is_loopback(host):
        return None
    netloc = f"[{host}]" if ":" in host else host
    if base.port is not None:
        netloc += f":{base.port}"
    return urlunsplit((base.scheme, netloc, "/token", "", ""))


def _check_url(reader: _Reader, key: str, text: str) -> SplitResult | None:
    """Validates an endpoint URL; returns it normalised (no trailing slash), or None after a problem."""
    reasons: list[str] = []
    parts: SplitResult | None = None
    host: str | None = None
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        reasons.append("must not contain spaces or control characters")
    else:
        try:
            parts = urlsplit(text)
            host = parts.hostname
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            reasons.append("is not a valid URL")
            parts = None
    if parts is not None:
        if parts.scheme not in ("http", "https") or not parts.netloc:
            reasons.append("must be an absolute http(s) URL")
        elif not host:
            reasons.append("has no host")
        # Credentials in a URL end up in logs and proxies; they belong in oauth_token/client_secret.
        if "@" in parts.netloc:
            reasons.append("must not contain a user name or password")
        if "?" in text or "#" in text:
            reasons.append("must not have a query string or fragment")
        if parts.scheme == "http" and host and not _is_loopback(host):
            reasons.append(
                "must use https (plain http is allowed only for loopback hosts: 127.0.0.0/8, localhost, ::1)"
            )
    if reasons:
        example = BY_NAME[key].example
        reader.problems.append(f"{key}: {_show(key, reader.raw(key))} {'; '.join(reasons)}; e.g. {example}")
        reader.invalid.add(key)
        return None
    assert parts is not None
    return parts._replace(path=parts.path.rstrip("/"), query="", fragment="")


def _is_loopback(host: str) -> bool:
    if host.rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Reader:
    """Reads typed values from the raw mapping, recording problems instead of stopping at the first."""

    def __init__(self, configuration: Mapping[str, object]):
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.invalid: set[str] = set()  # keys present but unusable; their problem is already recorded
        self.values: dict[str, object] = {}
        for key, value in configuration.items():
            if not isinstance(key, str):
                self.problems.append(f"configuration key {_cut(repr(key))}: keys must be text, got {_type_name(key)}")
                continue
            if key not in KNOWN_KEYS:
                self.warnings.append(_unknown_key_warning(key))
            if isinstance(value, (str, bool, int)):
                self.values[key] = value
            else:
                self.problems.append(f"{key}: expected a text value, got {_type_name(value)}{_allowed(key)}")
                self.invalid.add(key)

    def is_invalid(self, *keys: str) -> bool:
        return any(key in self.invalid for key in keys)

    def raw(self, key: str) -> object:
        return self.values.get(key)

    def unset_reason(self, key: str) -> str:
        if key not in self.values:
            return "missing"
        raw = self.values[key]
        if raw == "":
            return "empty"
        if isinstance(raw, str) and not raw.strip():
            return "only whitespace"
        return f"a placeholder ({_show(key, raw)})"

    def text(self, key: str, *, quiet: bool = False) -> str | None:
        """Stripped text, or None when unset or invalid (then `key in self.invalid`)."""
        if key in self.invalid or key not in self.values:
            return None
        raw = self.values[key]
        if isinstance(raw, bool):  # would otherwise become the string "True"
            if not quiet:
                self._bad(key, f"{key}: expected text, got a boolean")
            return None
        text = str(raw).strip()
        if _is_unset(text):
            return None
        if key in _NO_INNER_SPACE_KEYS and any(ch.isspace() or not ch.isprintable() for ch in text):
            if not quiet:
                self._bad(
                    key,
                    f"{key}: {_show(key, raw)} contains spaces or control characters; "
                    "paste the value exactly as issued",
                )
            return None
        return text

    def entries(self, row: Key) -> tuple[str, ...] | None:
        """Comma-separated values (credentials), each stripped; None when unset or invalid. A
        problem names an entry by its position, never by its value: these are credentials."""
        key, noun = row.name, row.noun
        if key in self.invalid or key not in self.values:
            return None
        raw = self.values[key]
        if isinstance(raw, bool):  # would otherwise become the string "True"
            self._bad(key, f"{key}: expected text, got a boolean")
            return None
        text = str(raw).strip()
        if _is_unset(text):
            return None
        entries = tuple(part.strip() for part in text.split(","))
        n = len(entries)
        of = f" of {n}" if n > 1 else ""
        checks = (  # (said of one entry, said of several, the test)
            ("is empty (a stray comma?)", "are empty (stray commas?)", lambda e: not e),
            ("is a placeholder", "are placeholders", lambda e: _PLACEHOLDER.fullmatch(e) is not None),
            ("contains spaces or control characters", "contain spaces or control characters",
             lambda e: any(ch.isspace() or not ch.isprintable() for ch in e)),
        )
        for one, several, test in checks:
            positions = [i for i, entry in enumerate(entries, 1) if test(entry)]
            if positions:
                plural = len(positions) > 1
                self.problems.append(
                    f"{key}: {noun}{'s' if plural else ''} {_positions(positions)}{of} {several if plural else one}; "
                    "separate values with commas and paste each exactly as issued"
                )
                self.invalid.add(key)
        return None if key in self.invalid else entries

    def choice(self, row: Key) -> str:
        key, default = row.name, str(row.default)
        text = self.text(key)
        if text is None:
            return default
        value = text.lower()  # "AU" and "Production" mean the obvious thing
        if value not in row.choices:
            self._bad(key, f"{key}: {_show(key, self.raw(key))} is not allowed; {row.allowed()}")
            return default
        return value

    def integer(self, row: Key) -> int | None:
        key, default = row.name, row.default
        assert default is None or isinstance(default, int)
        if key in self.invalid or key not in self.values:
            return default
        raw = self.values[key]
        if isinstance(raw, bool):
            return self._bad_int(row, "is not a whole number")
        if isinstance(raw, int):
            number = raw
        else:
            assert isinstance(raw, str)
            text = raw.strip()
            if _is_unset(text):
                return default
            if not _INTEGER.fullmatch(text):
                return self._bad_int(row, "is not a whole number")
            if len(text.lstrip("+-").lstrip("0")) > 18:  # int() refuses very long digit strings
                return self._bad_int(row, "is out of range")
            number = int(text)
        if number < row.low and row.too_low:
            return self._bad_int(row, f"is out of range ({row.too_low})")
        if not row.low <= number <= row.high:
            return self._bad_int(row, "is out of range")
        return number

    def boolean(self, row: Key) -> bool:
        key, default = row.name, row.default
        assert isinstance(default, bool)
        if key in self.invalid or key not in self.values:
            return default
        raw = self.values[key]
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str):
            text = raw.strip().lower()
            if _is_unset(text):
                return default
            if text in ("true", "false"):
                return text == "true"
        self._bad(key, f"{key}: {_show(key, raw)} is not allowed; {row.allowed()}")
        return default

    def _bad_int(self, row: Key, what: str) -> int | None:
        key, default = row.name, row.default
        assert default is None or isinstance(default, int)
        self._bad(key, f"{key}: {_show(key, self.values[key])} {what}; {row.allowed()}")
        return default

    def _bad(self, key: str, message: str) -> None:
        self.problems.append(message)
        self.invalid.add(key)


def _allowed(key: str) -> str:
    """The allowed values of a key with a fixed set or range, as a message suffix."""
    allowed = BY_NAME[key].allowed() if key in BY_NAME else ""
    return f"; {allowed}" if allowed else ""


def _is_unset(text: str) -> bool:
    """Empty, or a template placeholder such as `<YOUR_XURRENT_API_TOKEN>` (`text` is stripped)."""
    return not text or _PLACEHOLDER.fullmatch(text) is not None


def _show(key: str, value: object) -> str:
    """A value as it may appear in a message: secrets masked, URL credentials redacted, cut short."""
    if key in SECRET_KEYS:
        return mask(str(value).strip()) if isinstance(value, (str, int)) else _type_name(value)
    if not isinstance(value, str):
        return json.dumps(value) if isinstance(value, (bool, int)) else _type_name(value)
    if key in _URL_KEYS:
        value = _redact_url(value)
    # json.dumps quotes and escapes control characters, so a message stays one clean line.
    return json.dumps(_cut(value), ensure_ascii=False)


def _redact_url(text: str) -> str:
    """Hides user:password and the query/fragment, which are where credentials hide in a URL."""
    text = re.sub(r"//[^/?#]*@", "//***@", text)
    for mark in "?#":
        head, sep, _ = text.partition(mark)
        text = head + (mark + "…" if sep else "")
    return text


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _unknown_key_warning(key: str) -> str:
    shown = json.dumps(_cut(key), ensure_ascii=False)
    text = f"configuration key {shown} is not known and is ignored"
    close = difflib.get_close_matches(key.strip().lower(), sorted(KNOWN_KEYS), n=1)
    if close:
        text += f' (did you mean "{close[0]}"?)'
    return text
