"""The query-string grammar of collection requests: filters, sort, per_page, fields and cursors.

Filters (`id`, `created_at`, `updated_at`) carry their operator in the value, in the documented
forms only (see `_conditions`); anything else is a 400, as the real API answers an invalid filter
condition. Repeated parameters all apply. Every value compiles to an integer interval (records have
integer ids and whole-second timestamps) plus include/exclude sets. Under fractional storage
(`SimConfig.timestamp_precision`) a timestamp condition is also kept as sent, to be compared with
each record's stored time, and the interval only bounds the printed seconds that may match.
`fields=` names must exist and be allowed in a list (`Unknown fields: a, b` otherwise).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .timefmt import parse_iso

FILTER_FIELDS = ("id", "created_at", "updated_at")
SORT_FIELDS = ("id", "created_at", "updated_at")
# The real API's default order is unconfirmed (products by name); the simulator uses a stable one.
DEFAULT_SORT: tuple[tuple[str, bool], ...] = (("updated_at", False), ("id", False))



class QueryError(ValueError):
    """A request the API answers with 400 and this message."""


class FieldsError(QueryError):
    """A 400 about the names in `fields=`."""


@dataclass(frozen=True)
class FieldFilter:
    """Integer interval [lo, hi] (None = open) plus optional include set and exclude set. Under
    fractional storage a timestamp filter also has `exact`: its conditions as sent, (operator, epoch
    seconds), which a record's stored time must meet; [lo, hi] then bounds its printed seconds."""

    lo: int | None = None
    hi: int | None = None
    include: frozenset[int] | None = None
    exclude: frozenset[int] = frozenset()
    exact: tuple[tuple[str, float], ...] = ()

    @property
    def empty(self) -> bool:
        if self.lo is not None and self.hi is not None and self.lo > self.hi:
            return True
        return self.include is not None and not self.include

    @property
    def has_sets(self) -> bool:
        return self.include is not None or bool(self.exclude)

    def matches(self, value: int) -> bool:
        if self.lo is not None and value < self.lo:
            return False
        if self.hi is not None and value > self.hi:
            return False
        if self.include is not None and value not in self.include:
            return False
        return value not in self.exclude

    def matches_stored(self, stored_ms: int) -> bool:
        """Whether a stored time (milliseconds) meets every condition as sent."""
        for op, seconds in self.exact:
            bound = seconds * STORED_UNITS
            if not _COMPARE[op](stored_ms, bound):
                return False
        return True


STORED_UNITS = 1000  # a stored time under fractional storage is in milliseconds
_COMPARE = {
    ">": lambda v, b: v > b, ">=": lambda v, b: v >= b, "<": lambda v, b: v < b, "<=": lambda v, b: v <= b,
    "=": lambda v, b: v == b, "!": lambda v, b: v != b,
}


@dataclass(frozen=True)
class Cursor:
    served: int  # records already handed out by this walk (gives page numbers and the cap)
    key: tuple[int, ...]  # sort-key values of the last record handed out, id last


@dataclass(frozen=True)
class Query:
    filters: Mapping[str, FieldFilter] = field(default_factory=dict)
    sort: tuple[tuple[str, bool], ...] = DEFAULT_SORT
    per_page: int = 20
    fields: tuple[str, ...] | None = None  # None = the collection's default fields
    cursor: Cursor | None = None

    @property
    def signature(self) -> tuple:
        """What determines a query's result set and order (not the page): a cache key."""
        return (tuple(sorted(self.filters.items())), self.sort)


# The documented value forms (developer.xurrent.com/v1/general/filtering), and no others: equality
# `X`, negation `!X`, empty ``, present `!`, in `1,2,3`, not in `!1,2,3` (integers and enums only),
# `<X`, `<=X`, `>X`, `>=X`, and the two ranges `>A<B` and `>=A<=B`. Mixed ranges (`>=A<B`, `>A<=B`),
# reversed ones (`<B>A`), `=X` and `!=X` are not documented: the API answers an invalid filter
# condition with 400, and so does this simulator.
_ONE_SIDED = re.compile(r"^(>=|<=|>|<)([^<>!=]+)$")
_RANGE = re.compile(r"^(>=|>)([^<>!=]+)(<=|<)([^<>!=]+)$")
_DOCUMENTED_RANGES = ((">", "<"), (">=", "<="))
_FORMS = "X, !X, empty, !, 1,2,3 (ids), <X, <=X, >X, >=X, >A<B or >=A<=B"


def _conditions(name: str, raw: str) -> list[tuple[str, str]]:
    """(operator, value) pairs of one documented condition; ValueError for anything else."""
    if raw == "":
        return [("empty", "")]
    if raw == "!":
        return [("present", "")]
    if raw.startswith("!"):
        return [("!", raw[1:])]
    if match := _RANGE.match(raw):
        low_op, low, high_op, high = match.groups()
        if (low_op, high_op) not in _DOCUMENTED_RANGES:
            raise ValueError(f"the range {low_op}A{high_op}B is not a documented form; use {_FORMS}")
        return [(low_op, low), (high_op, high)]
    if match := _ONE_SIDED.match(raw):
        return [(match.group(1), match.group(2))]
    if any(c in raw for c in "<>!="):
        raise ValueError(f"not a documented filter condition; use {_FORMS}")
    return [("=", raw)]


def _parse_number(name: str, text: str) -> float:
    if name == "id":
        if not text.isdigit():
            raise ValueError("not a record id")
        return int(text)
    return parse_iso(text)


def parse_filter(name: str, values: Sequence[str], fractional: bool = False) -> FieldFilter:
    """One filter parameter's values. `fractional`: timestamps are stored with a fraction and
    compared at it (see `FieldFilter.exact`)."""
    if fractional and name != "id":
        return _parse_fractional(name, values)
    lo: int | None = None
    hi: int | None = None
    include: set[int] | None = None
    exclude: set[int] = set()
    for raw in values:
        try:
            for op, text in _conditions(name, raw):
                if op == "empty":  # id, created_at and updated_at always have a value
                    include = set()
                    continue
                if op == "present":
                    continue
                items = text.split(",") if op in ("=", "!") else [text]
                if len(items) > 1 and name != "id":
                    raise ValueError("a list of values is for integers and enumerations only")
                numbers = [_parse_number(name, item.strip()) for item in items]
                if op in ("=", "!"):
                    whole = {int(n) for n in numbers if n == int(n)}  # a fractional second matches none
                    if op == "=":
                        include = whole if include is None else include & whole
                    else:
                        exclude |= whole
                    continue
                value = numbers[0]
                if op == ">":
                    bound, is_lo = math.floor(value) + 1, True
                elif op == ">=":
                    bound, is_lo = math.ceil(value), True
                elif op == "<":
                    bound, is_lo = math.ceil(value) - 1, False
                else:
                    bound, is_lo = math.floor(value), False
                if is_lo:
                    lo = bound if lo is None else max(lo, bound)
                else:
                    hi = bound if hi is None else min(hi, bound)
        except ValueError as exc:
            raise QueryError(f"Invalid value for {name}: {raw!r} ({exc})") from None
    if include is not None and len(include) == 1:  # `X` is an interval: lets indexes bisect it
        (only,) = include
        lo = only if lo is None else max(lo, only)
        hi = only if hi is None else min(hi, only)
        include = None
    return FieldFilter(lo, hi, None if include is None else frozenset(include), frozenset(exclude))


def _parse_fractional(name: str, values: Sequence[str]) -> FieldFilter:
    """A timestamp filter under fractional storage: every condition kept as sent, and the printed
    seconds it can match: `>X` and `>=X` from X's second, `<X` up to the second before X (that of X
    when X has a fraction), `<=X` and `X` up to X's second."""
    lo: int | None = None
    hi: int | None = None
    exact: list[tuple[str, float]] = []
    nothing = False
    for raw in values:
        try:
            for op, text in _conditions(name, raw):
                if op == "empty":  # id, created_at and updated_at always have a value
                    nothing = True
                    continue
                if op == "present":
                    continue
                if "," in text:
                    raise ValueError("a list of values is for integers and enumerations only")
                value = _parse_number(name, text.strip())
                exact.append((op, value))
                if op in (">", ">=", "="):
                    lo = math.floor(value) if lo is None else max(lo, math.floor(value))
                if op in ("<", "<=", "="):
                    top = math.ceil(value) - 1 if op == "<" else math.floor(value)
                    hi = top if hi is None else min(hi, top)
        except ValueError as exc:
            raise QueryError(f"Invalid value for {name}: {raw!r} ({exc})") from None
    return FieldFilter(lo, hi, frozenset() if nothing else None, frozenset(), tuple(exact))


def parse_sort(raw: str | None) -> tuple[tuple[str, bool], ...]:
    """Normalized sort: fields up to and including `id`; an implicit `id` tie-breaker takes the
    direction of the last named field (so `-updated_at` means updated_at desc, id desc)."""
    if raw is None or not raw.strip():
        return DEFAULT_SORT
    keys: list[tuple[str, bool]] = []
    bad: list[str] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        desc = item.startswith("-")
        name = item[1:] if desc else item
        if name not in SORT_FIELDS:
            bad.append(name)
        elif all(name != seen for seen, _ in keys):
            keys.append((name, desc))
    if bad:
        raise QueryError(f"Sorting not allowed on fields: {', '.join(bad)}")
    if not keys:
        return DEFAULT_SORT
    names = [name for name, _ in keys]
    if "id" in names:
        return tuple(keys[: names.index("id") + 1])
    return (*keys, ("id", keys[-1][1]))


def sort_signature(sort: tuple[tuple[str, bool], ...]) -> str:
    return ",".join(("-" if desc else "") + name for name, desc in sort)


def encode_cursor(served: int, key: tuple[int, ...], sort: tuple[tuple[str, bool], ...]) -> str:
    payload = json.dumps([served, sort_signature(sort), *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(raw: str, sort: tuple[tuple[str, bool], ...]) -> Cursor:
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        data = None
    ok = (
        isinstance(data, list)
        and len(data) >= 3
        and isinstance(data[1], str)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in (data[0], *data[2:]))
        and data[0] >= 0
    )
    if not ok:
        raise QueryError(f"Invalid value for search_after: {raw!r}")
    if data[1] != sort_signature(sort) or len(data) != len(sort) + 2:
        raise QueryError(f"Invalid value for search_after: {raw!r} (it belongs to another sort order)")
    return Cursor(served=data[0], key=tuple(data[2:]))


def parse_per_page(raw: str | None, default: int, maximum: int) -> int:
    if raw is None or raw == "":
        return min(default, maximum)
    if not raw.strip().isdigit() or int(raw) < 1:
        raise QueryError(f"Invalid value for per_page: {raw!r} (a whole number of at least 1)")
    return min(int(raw), maximum)


def _fields(raw: str | None, known: Sequence[str], detail_only: Sequence[str]) -> tuple[str, ...] | None:
    if raw is None or not raw.strip():
        return None
    asked = [part.strip() for part in raw.split(",") if part.strip()]
    unknown = [name for name in asked if name not in known and name not in detail_only]
    if unknown:
        raise FieldsError(f"Unknown fields: {', '.join(unknown)}")
    refused = [name for name in asked if name in detail_only]
    if refused:
        raise FieldsError(f"Fields not available in a collection: {', '.join(refused)}")
    return tuple(name for name in known if name in asked)


def parse_query(
    params: Mapping[str, Sequence[str]], known_fields: Sequence[str], per_page_default: int, per_page_max: int,
    detail_only: Sequence[str] = (), fractional: bool = False,
) -> Query:
    """`params` maps each parameter name to all its values, in order; `fractional`: timestamps are
    compared at their stored fraction."""

    def last(name: str) -> str | None:
        values = params.get(name)
        return values[-1] if values else None

    filters = {name: parse_filter(name, params[name], fractional) for name in FILTER_FIELDS if params.get(name)}
    sort = parse_sort(last("sort"))
    raw_cursor = last("search_after")
    return Query(
        filters=filters,
        sort=sort,
        per_page=parse_per_page(last("per_page"), per_page_default, per_page_max),
        fields=_fields(last("fields"), known_fields, detail_only),
        cursor=None if raw_cursor is None else decode_cursor(raw_cursor, sort),
    )
