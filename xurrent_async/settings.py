"""The import path existing callers use for the settings; they live in `xurrent_async.config`."""

from xurrent_async.config.settings import (
    ENVIRONMENTS,
    KNOWN_KEYS,
    REGIONS,
    SECRET_KEYS,
    Credential,
    Settings,
    mask,
    parse_settings,
)

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
