"""Values in shapes the docs allow but the simulator does not send by default (SimConfig.loose_values).

The Data Types page documents a `datetime` form `yyyy-mm-ddThh:mm` without an offset, and JSON
leaves a server free to send an id as a string of digits. On a chosen share of records (the same
records on every request), every timestamp comes without an offset, in UTC (as `…Thh:mm` or
`…Thh:mm:ss`), and the record's id and its references' ids come as strings of digits.
"""

from __future__ import annotations

from datetime import datetime, timezone

from .data import splitmix64
from .records import Record

TIMESTAMP_FIELDS = ("created_at", "updated_at", "completion_target_at", "completed_at")


def chosen(seed: int, record_id: int, share: float) -> bool:
    """Whether a record is served loose: a fixed draw per (seed, id)."""
    return share > 0 and splitmix64(seed * 65_537 + record_id) % 10_000 < share * 10_000


def loosen(record: Record, seed: int) -> Record:
    """The record with offset-less UTC timestamps and ids as strings of digits (a new dict)."""
    minutes_only = splitmix64(seed + 31 * int(str(record.get("id", 0)))) % 2 == 0
    result = dict(record)
    for name in TIMESTAMP_FIELDS:
        value = result.get(name)
        if isinstance(value, str):
            moment = datetime.fromisoformat(value).astimezone(timezone.utc)
            result[name] = moment.strftime("%Y-%m-%dT%H:%M" if minutes_only else "%Y-%m-%dT%H:%M:%S")
    for name, value in result.items():
        if name == "id" and isinstance(value, int):
            result[name] = str(value)
        elif isinstance(value, dict) and isinstance(value.get("id"), int):
            result[name] = _digits(value)
    return result


def _digits(ref: Record) -> Record:
    out = {**ref, "id": str(ref["id"])}
    provider = out.get("provider")
    if isinstance(provider, dict) and isinstance(provider.get("id"), int):
        out["provider"] = {**provider, "id": str(provider["id"])}
    return out
