"""How a configuration value may appear in a message: secrets masked, URL credentials redacted,
long values cut, and positions of list entries named ("tokens 1 and 3"). Never the value of a secret."""

from __future__ import annotations

import json
import re

from .keys import KEYS, SECRET_KEYS

_URL_KEYS = frozenset(k.name for k in KEYS if k.kind == "url")
_MAX_SHOWN = 60  # long values are cut in messages; the start is enough to recognise them


def mask(value: str) -> str:
    """A stand-in for a secret in messages: at most its first 2 characters and its length.

    Short values get only `****`: two characters of a short secret would give away too much.
    """
    if len(value) >= 16:
        return f"{value[:2]}…({len(value)} chars)"
    return "****"


def show(key: str, value: object) -> str:
    """A value as it may appear in a message: secrets masked, URL credentials redacted, cut short."""
    if key in SECRET_KEYS:
        return mask(str(value).strip()) if isinstance(value, (str, int)) else type_name(value)
    if not isinstance(value, str):
        return json.dumps(value) if isinstance(value, (bool, int)) else type_name(value)
    if key in _URL_KEYS:
        value = redact_url(value)
    # json.dumps quotes and escapes control characters, so a message stays one clean line.
    return json.dumps(cut(value), ensure_ascii=False)


def redact_url(text: str) -> str:
    """Hides user:password and the query/fragment, which are where credentials hide in a URL."""
    text = re.sub(r"//[^/?#]*@", "//***@", text)
    for mark in "?#":
        head, sep, _ = text.partition(mark)
        text = head + (mark + "…" if sep else "")
    return text


def cut(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def listed(positions: list[int]) -> str:
    text = [str(p) for p in positions]
    return text[0] if len(text) == 1 else ", ".join(text[:-1]) + " and " + text[-1]
