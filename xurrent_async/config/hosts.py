"""The REST base URL and the OAuth token URL: an override checked for what would leak or mislead
(plain http off loopback, credentials in the URL), or derived from region and environment."""

from __future__ import annotations

import ipaddress
import json
from urllib.parse import SplitResult, urlsplit, urlunsplit

from .keys import BY_NAME
from .reader import Reader
from .shown import show

# Registrable domain per environment; a region other than global prefixes it (`au.xurrent.com`).
_DOMAINS = {"production": "xurrent.com", "qa": "xurrent.qa", "demo": "xurrent-demo.com"}
# Demo is a single global instance; asking for `au` demo would silently hit the wrong data.
REGIONLESS_ENVIRONMENTS = frozenset({"demo"})


def read_base_url(reader: Reader, region: str, environment: str) -> tuple[str, SplitResult | None]:
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
    if environment in REGIONLESS_ENVIRONMENTS and region != "global":
        return "", None  # reported by the caller
    domain = _DOMAINS[environment]
    if region != "global":
        domain = f"{region}.{domain}"
    url = f"https://api.{domain}/v1"
    return url, urlsplit(url)


def read_token_url(reader: Reader, base_parts: SplitResult | None, uses_client: bool) -> str | None:
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


def _check_url(reader: Reader, key: str, text: str) -> SplitResult | None:
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
        reader.problems.append(f"{key}: {show(key, reader.raw(key))} {'; '.join(reasons)}; e.g. {example}")
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
