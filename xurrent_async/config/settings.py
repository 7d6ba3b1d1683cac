"""Configuration parsing and validation, driven by the rows of `config/keys.py`.

The SDK hands `update()` a dict of *string* values. `parse_settings` turns it into a typed, frozen
`Settings` (config/model.py), or raises one `ConfigurationError` that lists every problem at once, so
a user fixes the whole configuration in one round trip instead of one key per failed sync. Each key
is read by its row's kind (config/reader.py); what ties keys together is decided here, with the
credentials (config/credentials.py) and the URLs derived from region and environment
(config/hosts.py). Nothing here does I/O.

Secrets (`SECRET_KEYS`) never reach a message: problems show them through `mask()` (config/shown.py),
and `Settings` leaves them out of its repr/str.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ConfigurationError
from .credentials import read_credentials
from .hosts import REGIONLESS_ENVIRONMENTS, read_base_url, read_token_url
from .keys import ENVIRONMENTS, KEYS, KNOWN_KEYS, REGIONS, SECRET_KEYS, Key
from .model import Credential, Settings
from .reader import Reader
from .shown import mask, show, type_name

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


def parse_settings(configuration: Mapping[str, object]) -> tuple[Settings, list[str]]:
    """Returns the settings and a list of warnings (e.g. unknown keys).

    Raises ConfigurationError listing EVERY problem at once.
    """
    if not isinstance(configuration, Mapping):
        raise ConfigurationError(
            [f"configuration: expected a mapping of keys to text values, got {type_name(configuration)}"]
        )
    reader = Reader(configuration)
    problems = reader.problems
    warnings = reader.warnings

    account_id = reader.text("account_id")
    if account_id is None and not reader.is_invalid("account_id"):
        reason = reader.unset_reason("account_id")
        problems.append(f"account_id: required (your Xurrent account id), but it is {reason}")

    credentials = read_credentials(reader)
    uses_client = bool(credentials) and credentials[0].kind == "client"

    choices = {k.name: reader.choice(k) for k in KEYS if k.kind == "choice"}
    region, environment = choices["region"], choices["environment"]
    if (
        environment in REGIONLESS_ENVIRONMENTS
        and region != "global"
        and not reader.is_invalid("region", "environment")
    ):
        problems.append(
            f"region: {show('region', reader.raw('region'))} is not available with environment "
            f'"{environment}"; the {environment} environment has only the global region '
            "(leave region empty or set it to global)"
        )

    base_url, base_parts = read_base_url(reader, region, environment)
    oauth_token_url = read_token_url(reader, base_parts, uses_client)

    read = {"int": reader.integer, "toggle": reader.boolean}
    values = {k.name: read[k.kind](k) for k in KEYS if k.kind in read and not k.alias_of}
    for alias in (k for k in KEYS if k.alias_of):
        _read_alias(reader, alias, values)
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


def _read_alias(reader: Reader, alias: Key, values: dict[str, int | bool | None]) -> None:
    """A deprecated name keeps working where the current name is not given, and says so: a setting
    that silently stopped working would change what a sync reads without a word."""
    value = reader.integer(alias)  # checked against its own row: same range as the current key
    if not reader.given(alias.name) or reader.is_invalid(alias.name):
        return
    current = alias.alias_of
    if reader.given(current):
        reader.warnings.append(
            f"{alias.name}: deprecated and ignored, because {current} is set"
            + ("" if value == values[current] else f" (to {values[current]}, not {value})") + f"; remove {alias.name}"
        )
        return
    values[current] = value
    reader.warnings.append(
        f"{alias.name}: deprecated; read as {current}={value}, which applies to every table (organizations "
        f"and products too, not only projects); rename it to {current}"
    )
