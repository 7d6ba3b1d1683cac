"""The three tables, declared as data: API path, `fields=` list, typed columns, record → row.

A field is one API attribute. Its kind says how it maps: a scalar becomes one column; a reference
object becomes `<name>_id`, `<name>_name` and `<name>_account_id` (set when the target lives in
another, trusted or directory, account), a service reference also `service_provider_id/_name`; a UI
extension `ui_extension_id/_title`; `custom_fields` and `recurrence` one JSON column each, exactly as
sent; the record's own `account` (a record of another account) `account_id`. Column names are
snake_case so they are stable under both of the SDK's naming modes. Adding a resource is one more
`Resource(...)` row below; adding a field is one more `Field(...)`.

Values are never mislabelled: a value that does not fit its column is stored where it can be (text
as text, a bare string where a reference is documented in `<name>_name`) or as null, and reported as
an `Issue` that the consumer aggregates per (table, field, problem, value).
"""

from __future__ import annotations

import json
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
JSON = "JSON"
# Xurrent sends decimals as strings with no documented scale: wide enough never to round.
DECIMAL = {"type": "DECIMAL", "precision": 38, "scale": 10}


class ValueProblem(ValueError):
    """A value that cannot be stored as its declared type: the column becomes null (or the text as
    sent, for text columns) and the sync warns (the record itself is still delivered)."""


class ValueGuessed(ValueProblem):
    """A value stored in a form the docs allow but do not pin down (a timestamp without an offset,
    read as UTC): reported once per field with a count, not once per value."""


OFFSETLESS = "is a timestamp without a UTC offset (kept, read as UTC)"


@dataclass(frozen=True)
class Issue:
    """One value problem of one record. `key` is what the sync reports once, with a count."""

    table: str
    field: str
    problem: str  # e.g. "has unknown value", "is not a reference object", "unparseable timestamp"
    value: str  # repr of the value as sent, shortened
    record_id: Any
    per_value: bool = True  # False: one report per (table, field, problem) whatever the value

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.table, self.field, self.problem, self.value if self.per_value else "")

    def __str__(self) -> str:
        return f"{self.table} id {self.record_id}: {self.field} {self.problem} {self.value}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def read_timestamp(value: Any) -> tuple[datetime | None, bool]:
    """'2016-03-22T21:02:50-05:00' (or ...Z) → an aware UTC datetime, and whether the value named its
    offset. The documented `datetime` form `yyyy-mm-ddThh:mm` (and `…:ss`) names none: it is read as
    UTC. Null stays null; anything else raises ValueProblem."""
    if value is None:
        return None, True
    if not isinstance(value, str):
        raise ValueProblem("is not a timestamp string")
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueProblem("is an unparseable timestamp") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc), False
    return parsed.astimezone(timezone.utc), True


def parse_timestamp(value: Any) -> datetime | None:
    """A timestamp as an aware UTC datetime (one without an offset read as UTC). Null stays null."""
    return read_timestamp(value)[0]


def exact_timestamp(value: Any) -> datetime | None:
    """A timestamp that names its offset, as an aware UTC datetime; None for null, unreadable and
    offset-less values: what decides a claim must not rest on a guessed time zone."""
    try:
        parsed, exact = read_timestamp(value)
    except ValueProblem:
        return None
    return parsed if exact else None


def _to_timestamp(value: Any) -> datetime | None:
    parsed, exact = read_timestamp(value)
    if not exact:
        raise ValueGuessed(OFFSETLESS, parsed)
    return parsed


def _to_long(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueProblem("is not an integer")
    try:
        return int(value)
    except ValueError:
        raise ValueProblem("is not an integer") from None


def _to_string(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        # Kept, as JSON text (never Python's repr): the API sent more than the documented text.
        raise ValueProblem("is not text", json.dumps(value, ensure_ascii=False, sort_keys=True))
    return str(value)


def _to_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ValueProblem("is not true/false")


def _to_decimal(value: Any) -> str | None:
    # Xurrent sends decimals as strings; the SDK's DECIMAL takes str (never float: no rounding).
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueProblem("is not a decimal")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueProblem("is not a decimal") from None
    if not number.is_finite():
        raise ValueProblem("is not a finite decimal")
    return str(number)


def _as_json(value: Any) -> Any:
    return value  # stored exactly as sent; the SDK writes lists and objects as JSON


# -- declaration -----------------------------------------------------------------------------------
# Field kinds: scalars map to one column; "ref", "service", "ui", "account" are objects, flattened.
_TYPES: dict[str, Any] = {
    "long": LONG, "int": INT, "string": STRING, "enum": STRING, "bool": BOOLEAN,
    "timestamp": UTC_DATETIME, "decimal": DECIMAL, "json": JSON,
}
_CONVERT: dict[str, Callable[[Any], Any]] = {
    "long": _to_long, "int": _to_long, "string": _to_string, "enum": _to_string, "bool": _to_bool,
    "timestamp": _to_timestamp, "decimal": _to_decimal, "json": _as_json,
}
# The type a value of each kind usually has: such a value is stored as it is, without a call.
_AS_IS: dict[str, type] = {"string": str, "enum": str, "long": int, "int": int, "bool": bool}


def snake(name: str) -> str:
    """sourceID → source_id, nodeID → node_id, productID → product_id, financialID → financial_id."""
    name = re.sub(r"ID$", "_id", name)
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower().replace("__", "_")


@dataclass(frozen=True)
class Field:
    """One API attribute. kind: long | int | string | enum | bool | timestamp | decimal | json |
    ref (a reference object) | service (a service reference, with its provider) | ui (a UI
    extension reference) | account (the record's own account, not asked for in `fields=`)."""

    api: str
    kind: str = "string"
    enum: tuple[str, ...] = ()  # the documented values of an enum: others are kept and reported
    # ref: the properties `<name>_name` reads, the first one present wins. The display property of
    # a reference is `name` or `subject` by the referenced type (docs, Data Types → References).
    display: tuple[str, ...] = ("name",)

    @property
    def requested(self) -> bool:
        """Asked for in `fields=`: `id` always comes, `nodeID` comes in current responses, and a
        record's `account` comes by itself when the record lives in another account."""
        return self.api not in ("id", "nodeID") and self.kind != "account"

    def columns(self) -> dict[str, Any]:
        base = snake(self.api)
        if self.kind in ("ref", "service"):
            columns = {f"{base}_id": LONG, f"{base}_name": STRING, f"{base}_account_id": STRING}
            if self.kind == "service":
                columns.update({f"{base}_provider_id": LONG, f"{base}_provider_name": STRING})
            return columns
        if self.kind == "ui":
            return {f"{base}_id": LONG, f"{base}_title": STRING}
        if self.kind == "account":
            return {f"{base}_id": STRING}
        return {base: _TYPES[self.kind]}


def ref(name: str) -> Field:
    return Field(name, "ref")


def template_ref(name: str) -> Field:
    """A reference to a request or workflow template: their display property is `subject` (the
    docs' examples); `name` is read when a server sends only that."""
    return Field(name, "ref", display=("subject", "name"))


def ts(name: str) -> Field:
    return Field(name, "timestamp")


def enum(name: str, *values: str) -> Field:
    return Field(name, "enum", values)


@dataclass(frozen=True)
class Resource:
    table: str
    path: str
    fields: tuple[Field, ...]
    # The record type as the archive and trash feeds name it, for a resource whose records are
    # archived and trashed (projects); None for one Xurrent never removes (it disables them).
    removed_as: str | None = None

    @property
    def api_fields(self) -> str:
        """The `fields=` parameter: every mapped attribute, in one list request."""
        return ",".join(self.requested_fields)

    @property
    def requested_fields(self) -> tuple[str, ...]:
        return tuple(f.api for f in self.fields if f.requested)

    def columns(self) -> dict[str, Any]:
        columns: dict[str, Any] = {}
        for f in self.fields:
            columns.update(f.columns())
        return columns

    def schema(self) -> dict[str, Any]:
        return {"table": self.table, "primary_key": ["id"], "columns": self.columns()}


# Shared by every resource: identity, origin, extensions and change tracking.
_IDENTITY = (Field("id", "long"), Field("nodeID"), Field("sourceID"), Field("source"))
_EXTENDED = (Field("ui_extension", "ui"), Field("custom_fields", "json"))
_TIMES = (ts("created_at"), ts("updated_at"), Field("account", "account"))

RULE_SETS = ("physical_asset", "logical_asset_with_financial_data", "logical_asset_without_financial_data",
             "server", "software", "software_distribution_package", "license_certificate")
DEPRECIATION_METHODS = ("not_depreciated", "double_declining_balance", "reducing_balance", "straight_line",
                        "sum_of_the_years_digits",
                        "na_cost_is_zero", "na_leased", "na_not_capitalized")  # the last three: legacy
PROJECT_STATUSES = ("registered", "in_progress", "progress_halted", "completed")
JUSTIFICATIONS = ("compliance", "correction", "expansion", "improvement", "maintenance", "move", "removal",
                  "replacement")
COMPLETION_REASONS = ("withdrawn", "rejected", "abandoned", "partial", "complete")

RESOURCES: tuple[Resource, ...] = (
    Resource("organizations", "organizations", (
        *_IDENTITY, Field("name"), ref("parent"), ref("manager"), ref("substitute"),
        Field("business_unit", "bool"), ref("business_unit_organization"), Field("region"), Field("financialID"),
        Field("disabled", "bool"), Field("end_user_privacy", "bool"), template_ref("order_template"), *_EXTENDED,
        Field("remarks"), Field("picture_uri"), *_TIMES,
    )),
    Resource("products", "products", (
        *_IDENTITY, Field("name"), Field("brand"), Field("model"), Field("productID"), Field("category"),
        ref("support_team"), Field("service", "service"), ref("financial_owner"), ref("supplier"),
        ref("workflow_manager"), template_ref("workflow_template"), enum("rule_set", *RULE_SETS),
        enum("depreciation_method", *DEPRECIATION_METHODS), Field("useful_life", "int"),
        Field("salvage_value", "decimal"), Field("salvage_value_currency"), Field("rate", "decimal"),
        Field("recurrence", "json"), Field("disabled", "bool"), *_EXTENDED, Field("remarks"), Field("picture_uri"),
        *_TIMES,
    )),
    Resource("projects", "projects", (
        *_IDENTITY, Field("subject"), Field("category"), enum("status", *PROJECT_STATUSES),
        enum("justification", *JUSTIFICATIONS), enum("completion_reason", *COMPLETION_REASONS),
        Field("risk_level"), Field("program"), ref("manager"), ref("customer"), Field("service", "service"),
        ref("work_hours"), Field("time_zone"), ts("completion_target_at"), ts("completed_at"),
        Field("effort", "long"), Field("cost_of_effort", "decimal"), Field("cost_of_purchases", "decimal"),
        Field("total_cost", "decimal"), Field("value", "decimal"), Field("value_currency"),
        Field("roi", "decimal"), Field("resolution_duration", "long"), *_EXTENDED, *_TIMES,
    ), removed_as="project"),
)
BY_TABLE = {r.table: r for r in RESOURCES}
REMOVAL_FEEDS = ("archive", "trash")  # GET /v1/archive and /v1/trash: every removed record, all types mixed


# -- mapping ---------------------------------------------------------------------------------------
class RowMapper:
    """Maps API records of one resource to rows; compiled once, called per record (hot path).

    Most values already have their column's type: those are checked by class and stored, and only
    the rest go through the converters, which name the problem. About half a sync's CPU outside
    the SDK is here and in JSON decoding."""

    def __init__(self, resource: Resource):
        self.resource = resource
        self.table = resource.table
        # (api name, kind, column names, class stored as is, converter, allowed enum values)
        plan: list[tuple[str, str, tuple[str, ...], type | None, Callable[[Any], Any] | None, frozenset[str]]] = []
        for f in resource.fields:
            if f.api == "id":
                continue  # read by map() itself: a record without a usable id is no record
            columns = tuple(f.columns())
            plan.append((f.api, f.kind, columns, _AS_IS.get(f.kind), _CONVERT.get(f.kind), frozenset(f.enum)))
        self._plan = tuple(plan)
        self._display = {f.api: ("title",) if f.kind == "ui" else f.display for f in resource.fields}
        self._nulls = {column: None for f in resource.fields for column in f.columns()}

    def map(self, record: Any, problems: list[Issue]) -> dict[str, Any]:
        """One row. Value problems are appended to `problems` (the value is kept where a column can
        hold it); a record that is not an object or has no integer id raises RecordError."""
        if not isinstance(record, dict):
            raise RecordError(f"{self.table}: expected a record object, got {type(record).__name__}")
        record_id = as_id(record.get("id"))
        if record_id is None:
            raise RecordError(f"{self.table}: a record has no usable id ({_shown(record.get('id'))})")
        row = dict(self._nulls)
        row["id"] = record_id  # an id sent as a string of digits is that number
        get = record.get
        for api, kind, columns, as_is, convert, allowed in self._plan:
            value = get(api)
            if value is None:
                continue
            if value.__class__ is as_is:
                row[columns[0]] = value
            elif convert is not None:
                try:
                    row[columns[0]] = convert(value)
                except ValueProblem as exc:
                    kept = exc.args[1] if len(exc.args) > 1 else None
                    row[columns[0]] = kept
                    problems.append(Issue(self.table, api, str(exc.args[0]), _shown(value), record_id,
                                          per_value=not isinstance(exc, ValueGuessed)))
                    continue
            else:
                self._object(row, kind, columns, value, api, record_id, problems)
                continue
            if allowed and value not in allowed:
                # Kept as sent (it is data), but said: the account or the API may have a new value.
                problems.append(Issue(self.table, api, "has an undocumented value", _shown(value), record_id))
        return row

    def _object(self, row: dict[str, Any], kind: str, columns: tuple[str, ...], value: Any, api: str,
                record_id: int, problems: list[Issue]) -> None:
        """A reference, service, UI extension or account object, flattened into its columns."""
        if not isinstance(value, dict):
            if kind in ("ref", "service", "ui") and isinstance(value, (str, int, float)):
                row[columns[1]] = str(value)  # a bare name or number: kept where a name goes
            problems.append(Issue(self.table, api, "is not a reference object", _shown(value), record_id))
            return
        if kind == "account":
            row[columns[0]] = _text(value.get("id"))
            return
        row[columns[0]] = ident = as_id(value.get("id"))
        if ident is None and value.get("id") is not None:
            problems.append(Issue(self.table, api, "has a reference id that is not a whole number",
                                  _shown(value.get("id")), record_id))
        row[columns[1]] = _text(_first(value, self._display[api]))
        if kind == "ui":
            return
        account = value.get("account")
        row[columns[2]] = _text(account.get("id")) if isinstance(account, dict) else None
        if kind == "service":
            provider = value.get("provider")
            if isinstance(provider, dict):
                row[columns[3]] = as_id(provider.get("id"))
                row[columns[4]] = _text(provider.get("name"))


def as_id(value: Any) -> int | None:
    """An id: an integer, or a string of ASCII digits (read as the number it spells)."""
    if isinstance(value, int):
        return None if isinstance(value, bool) else value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _first(value: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        found = value.get(name)
        if found is not None:
            return found
    return None


def _text(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else str(value)
