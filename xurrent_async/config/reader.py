"""Reading one key's raw value by its row's kind (text, credential list, choice, integer, toggle),
recording each problem instead of stopping at the first, so that one message can list them all."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping

from .keys import BY_NAME, KEYS, KNOWN_KEYS, Key
from .shown import cut, listed, show, type_name

# Values sent in HTTP headers or form bodies: an inner space or newline is a paste error, and a
# newline in a header value would be header injection.
_NO_INNER_SPACE_KEYS = frozenset(k.name for k in KEYS if k.kind in ("text", "list"))
_PLACEHOLDER = re.compile(r"<.*>", re.DOTALL)
# ASCII digits only: int() would also take "1_000" and non-ASCII digits, which no user means.
_INTEGER = re.compile(r"[+-]?[0-9]+")


class Reader:
    """Reads typed values from the raw mapping, recording problems instead of stopping at the first."""

    def __init__(self, configuration: Mapping[str, object]):
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.invalid: set[str] = set()  # keys present but unusable; their problem is already recorded
        self.values: dict[str, object] = {}
        for key, value in configuration.items():
            if not isinstance(key, str):
                self.problems.append(f"configuration key {cut(repr(key))}: keys must be text, got {type_name(key)}")
                continue
            if key not in KNOWN_KEYS:
                self.warnings.append(unknown_key_warning(key))
            if isinstance(value, (str, bool, int)):
                self.values[key] = value
            else:
                self.problems.append(f"{key}: expected a text value, got {type_name(value)}{allowed_suffix(key)}")
                self.invalid.add(key)

    def is_invalid(self, *keys: str) -> bool:
        return any(key in self.invalid for key in keys)

    def raw(self, key: str) -> object:
        return self.values.get(key)

    def given(self, key: str) -> bool:
        """The key has a value: present, and neither empty nor a placeholder."""
        raw = self.values.get(key)
        return raw is not None and not (isinstance(raw, str) and is_unset(raw.strip()))

    def unset_reason(self, key: str) -> str:
        if key not in self.values:
            return "missing"
        raw = self.values[key]
        if raw == "":
            return "empty"
        if isinstance(raw, str) and not raw.strip():
            return "only whitespace"
        return f"a placeholder ({show(key, raw)})"

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
        if is_unset(text):
            return None
        if key in _NO_INNER_SPACE_KEYS and any(ch.isspace() or not ch.isprintable() for ch in text):
            if not quiet:
                self._bad(
                    key,
                    f"{key}: {show(key, raw)} contains spaces or control characters; "
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
        if is_unset(text):
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
                    f"{key}: {noun}{'s' if plural else ''} {listed(positions)}{of} {several if plural else one}; "
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
            self._bad(key, f"{key}: {show(key, self.raw(key))} is not allowed; {row.allowed()}")
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
            if is_unset(text):
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
            if is_unset(text):
                return default
            if text in ("true", "false"):
                return text == "true"
        self._bad(key, f"{key}: {show(key, raw)} is not allowed; {row.allowed()}")
        return default

    def _bad_int(self, row: Key, what: str) -> int | None:
        key, default = row.name, row.default
        assert default is None or isinstance(default, int)
        self._bad(key, f"{key}: {show(key, self.values[key])} {what}; {row.allowed()}")
        return default

    def _bad(self, key: str, message: str) -> None:
        self.problems.append(message)
        self.invalid.add(key)


def allowed_suffix(key: str) -> str:
    """The allowed values of a key with a fixed set or range, as a message suffix."""
    allowed = BY_NAME[key].allowed() if key in BY_NAME else ""
    return f"; {allowed}" if allowed else ""


def is_unset(text: str) -> bool:
    """Empty, or a template placeholder such as `<YOUR_XURRENT_API_TOKEN>` (`text` is stripped)."""
    return not text or _PLACEHOLDER.fullmatch(text) is not None


def unknown_key_warning(key: str) -> str:
    shown = json.dumps(cut(key), ensure_ascii=False)
    text = f"configuration key {shown} is not known and is ignored"
    close = difflib.get_close_matches(key.strip().lower(), sorted(KNOWN_KEYS), n=1)
    if close:
        text += f' (did you mean "{close[0]}"?)'
    return text
