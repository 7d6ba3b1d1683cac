"""The three tables, declared as data: API path, `fields=` list, typed columns, record → row.

A field is one API attribute. Its kind says how it maps: a scalar becomes one column, a reference
object becomes `<name>_id` and `<name>_name`. Column names are snake_case so they are stable under
both of the SDK's naming modes. Adding a resource is one more `Resource(...)` row below.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from xurrent_async.errors import RecordError

# SDK column types used here.
LONG = "LONG"
STRING = "STRING"
BOOLEAN = "BOOLEAN"
UTC_DATETIME = "UTC_DATETIME"
INT = "INT"
DECIMAL = {"type": "DECIMAL", "precision": 18, "scale": 2}


class ValueProblem(ValueError):
    """A value that cannot be stored as its declared type: the column becomes null and the sync
    warns (the record itself is still delivered)."""


def _snake(name: str) -> str:
    # sourceID -> source_id, nodeID -> node_id, productID -> product_id, financialID -> financial_id
    name = re.sub(r"ID$", "_id", name)
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower().replace("__", "_")


def parse_timestamp(value: Any) -> datetime | None:
    """'2016-03-22T21:02:50-05:00' (or ...Z) → an aware UTC datetime. Null stays null."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueProblem(f"expected a timestamp string, got {type(value).__name__}")
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueProblem(f"unparseable timestamp {value!r}") from None
    if parsed.tzinfo is None:
        raise ValueProblem(f"timestamp without a UTC offset {value!r}")
    return parsed.astimezone(timezone.utc)


def _to_long(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueProblem(f"expected an integer, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ValueProblem(f"expected an integer, got {value!r}") from None


def _to_string(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        raise ValueProblem(f"expected text, got {type(value).__name__}")
    return str(value)


def _to_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ValueProblem(f"expected true/false, got {value!r}")


def _to_decimal(value: Any) -> str | None:
    # Xurrent sends decimals as strings; the SDK's DECIMAL takes str (never float: no rounding).
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueProblem(f"expected a decimal, got {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueProblem(f"expected a decimal, got {value!r}") from None
    if not number.is_finite():
        raise ValueProblem(f"expected a finite decimal, got {value!r}")
    return str(number)


@dataclass(frozen=True)
class Field:
    """One API attribute. kind: 'long' | 'string' | 'bool' | 'timestamp' | 'decimal' | 'ref' | 'enum'."""

    api: str
    kind: str = "string"
    enum: tuple[str, ...] = ()

    def columns(self) -> dict[str, Any]:
        base = _snake(self.api)
        if self.kind == "ref":
            return {f"{base}_id": LONG, f"{base}_name": STRING}
        return {base: _TYPES[self.kind]}


_TYPES: dict[str, Any] = {
    "long": LONG, "string": STRING, "enum": STRING, "bool": BOOLEAN,
    "timestamp": UTC_DATETIME, "decimal": DECIMAL, "int": INT,
}
_CONVERT: dict[str, Callable[[Any], Any]] = {
    "long": _to_long, "int": _to_long, "string": _to_string, "enum": _to_string, "bool": _to_bool,
    "timestamp": parse_timestamp, "decimal": _to_decimal,
}


def ref(name: str) -> Field:
    return Field(name, "ref")


def ts(name: str) -> Field:
    return Field(name, "timestamp")


@dataclass(frozen=True)
class Resource:
    table: str
    path: str
    fields: tuple[Field, ...]

    @property
    def api_fields(self) -> str:
        """The `fields=` parameter: every mapped attribute, in one list request."""
        return ",".join(f.api for f in self.fields if f.api not in ("id", "nodeID"))

    def columns(self) -> dict[str, Any]:
        columns: dict[str, Any] = {}
        for f in self.fields:
            columns.update(f.columns())
        return columns

    def schema(self) -> dict[str, Any]:
        return {"table": self.table, "primary_key": ["id"], "columns": self.columns()}


# Shared by every resource: identity and change tracking.
_IDENTITY = (Field("id", "long"), Field("nodeID"), Field("sourceID"))
_TIMES = (ts("created_at"), ts("updated_at"))

RESOURCES: tuple[Resource, ...] = (
    Resource("organizations", "organizations", (
        *_IDENTITY, Field("name"), ref("parent"), ref("manager"), Field("business_unit", "bool"),
        ref("business_unit_organization"), Field("disabled", "bool"), Field("financialID"), Field("region"),
        Field("remarks"), ref("substitute"), Field("source"), *_TIMES,
    )),
    Resource("products", "products", (
        *_IDENTITY, Field("name"), Field("category"), ref("support_team"), ref("service"),
        Field("disabled", "bool"), Field("brand"), Field("model"), Field("productID"),
        Field("rule_set", "enum", ("automatic", "efficiency", "rotation", "warranty")),
        Field("depreciation_method", "enum",
              ("not_depreciated", "straight_line", "double_declining_balance", "sum_of_the_years_digits")),
        Field("useful_life", "int"), Field("salvage_value", "decimal"), ref("financial_owner"), ref("supplier"),
        Field("remarks"), Field("source"), *_TIMES,
    )),
    Resource("projects", "projects", (
        *_IDENTITY, Field("subject"), ref("manager"), Field("category"),
        Field("status", "enum", ("registered", "in_progress", "progress_halted", "completed")),
        ts("completion_target_at"), ts("completed_at"), ref("service"), ref("customer"), Field("justification"),
        ref("program"), Field("time_zone"), ref("work_hours"),
        Field("risk_level", "enum", ("low", "medium", "high")), Field("completion_reason"), Field("source"),
        *_TIMES,
    )),
)
BY_TABLE = {r.table: r for r in RESOURCES}


# The type a value of each kind usually has: such a value is stored as it is, without a call.
_AS_IS: dict[str, type] = {"string": str, "enum": str, "long": int, "int": int, "bool": bool}


class RowMapper:
    """Maps API records of one resource to rows; compiled once, called per record (hot path).

    Most values already have their column's type: those are checked by class and stored, and only
    the rest go through the converters, which name the problem. About half a sync's CPU outside
    the SDK is here and in JSON decoding."""

    def __init__(self, resource: Resource):
        self.resource = resource
        # (api name, kind, column(s), class stored as is, converter, allowed enum values)
        plan: list[tuple[str, str, Any, type | None, Callable[[Any], Any] | None, frozenset[str]]] = []
        for f in resource.fields:
            base = _snake(f.api)
            if f.kind == "ref":
                plan.append((f.api, "ref", (f"{base}_id", f"{base}_name"), None, None, frozenset()))
            else:
                plan.append((f.api, f.kind, base, _AS_IS.get(f.kind), _CONVERT[f.kind], frozenset(f.enum)))
        self._plan = tuple(plan)

    def map(self, record: Any, problems: list[str]) -> dict[str, Any]:
        """One row. Value problems null the column and are appended to `problems`; a record
        that is not an object or has no integer id raises RecordError (nothing can be stored)."""
        if not isinstance(record, dict):
            raise RecordError(f"{self.resource.table}: expected a record object, got {type(record).__name__}")
        record_id = record.get("id")
        if isinstance(record_id, bool) or not isinstance(record_id, int):
            raise RecordError(f"{self.resource.table}: a record has no usable id ({record_id!r})")
        get = record.get
        row: dict[str, Any] = {}
        for api, kind, column, as_is, convert, allowed in self._plan:
            value = get(api)
            if value is None:
                if kind == "ref":
                    row[column[0]] = row[column[1]] = None
                else:
                    row[column] = None
                continue
            if value.__class__ is as_is:
                stored = value
            elif kind == "ref":
                self._ref(row, column, value, api, record_id, problems)
                continue
            else:
                try:
                    stored = convert(value)  # type: ignore[misc]
                except ValueProblem as exc:
                    row[column] = None
                    problems.append(f"{self.resource.table} id {record_id}: {api}: {exc}")
                    continue
            row[column] = stored
            if allowed and value not in allowed:
                # Kept as sent (it is data), but said: the API may have grown a new value.
                problems.append(f"{self.resource.table} id {record_id}: {api} has unknown value {value!r}")
        return row

    def _ref(self, row: dict[str, Any], columns: tuple[str, str], value: Any, api: str, record_id: int,
             problems: list[str]) -> None:
        id_col, name_col = columns
        if isinstance(value, dict):
            ref_id = value.get("id")
            row[id_col] = ref_id if isinstance(ref_id, int) and not isinstance(ref_id, bool) else None
            name = value.get("name")
            row[name_col] = name if name is None or isinstance(name, str) else str(name)
        else:
            row[id_col] = row[name_col] = None
            problems.append(f"{self.resource.table} id {record_id}: {api} is not a reference object")
