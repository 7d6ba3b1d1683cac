"""Which fields a sync asks for in `fields=`: every declared one, minus those the API refused.

The docs answer an unknown name in `fields=` with `400 {"message": "Unknown fields: a, b"}`. A field
renamed or withdrawn after this connector was written must not stop every sync: the stream drops the
names the API named, says once which columns stay null and why, and goes on.
"""

from __future__ import annotations

import logging
import re

from xurrent_async.errors import ApiError
from xurrent_async.resources import Resource

log = logging.getLogger(__name__)
_UNKNOWN = re.compile(r"unknown fields?\s*:\s*(.+)", re.IGNORECASE)


def unknown_fields(error: ApiError) -> set[str]:
    """The field names a 400 says are unknown (empty for any other error)."""
    if error.status != 400:
        return set()
    match = _UNKNOWN.search(error.api_message or "")
    if not match:
        return set()
    return {name.strip(" .'\"") for name in match.group(1).split(",") if name.strip(" .'\"")}


class FieldSelection:
    def __init__(self, resources: tuple[Resource, ...]):
        self._resources = {r.table: r for r in resources}
        self._asked = {r.table: list(r.requested_fields) for r in resources}

    def param(self, table: str) -> str:
        return ",".join(self._asked[table])

    def drop(self, table: str, error: ApiError) -> bool:
        """Drop the fields `error` names from what `table` asks for. False when it names none of
        them (then the error stands: retrying would get the same answer)."""
        refused = [name for name in self._asked[table] if name in unknown_fields(error)]
        if not refused:
            return False
        self._asked[table] = [name for name in self._asked[table] if name not in refused]
        fields = {f.api: f for f in self._resources[table].fields}
        columns = [column for name in refused for column in fields[name].columns()]
        log.warning("%s: the API does not know the field(s) %s (%s); the column(s) %s stay null until the "
                    "connector is updated; the sync goes on without them", table, ", ".join(refused),
                    error.api_message, ", ".join(columns))
        return True
