"""Which fields a sync asks for in `fields=`: every declared one, minus those the API refused.

A field renamed, withdrawn or not listable after this connector was written must not stop every
sync. The docs word an unknown name `400 {"message": "Unknown fields: a, b"}` (for filters): such
names are dropped at once. Any other 400 to a request with `fields=` is examined without reading
its wording: a `fields=id` probe of the same query says whether the fields are the cause at all (if
it fails too, the 400 stands, with the API's message), then probes of halves of the asked list, one
record each, find the refused names (one probe per halving, and one to check the rest). This
happens at most once per sync and table; concurrent walks of the table wait for its answer. The
stream drops what was refused, says once which columns stay null and why, and goes on; a 400 that
persists without them fails as before.

Refused names are remembered in the state, so later syncs do not probe again; they are asked for
again when the stream next reads every record (a full pass), since only a full read can fill the
column on every row should the API accept them again.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping

from xurrent_async.errors import ApiError
from xurrent_async.resources import Resource

log = logging.getLogger(__name__)
_UNKNOWN = re.compile(r"unknown fields?\s*:\s*(.+)", re.IGNORECASE)
# The search gives up after this many probes (one refused field among 30 costs 7): a 400 that so
# many do not explain is not about single fields, and stands.
MAX_PROBES = 20
# Never dropped: the walks order and claim by it.
ESSENTIAL = frozenset({"updated_at"})
Probe = Callable[[str], Awaitable[bool]]  # a one-record request with this `fields=`: True when accepted
Notify = Callable[[str, tuple[str, ...]], Awaitable[None]]  # a table's refused names changed


def unknown_fields(error: ApiError) -> set[str]:
    """The field names a 400 says are unknown in the documented wording (empty for any other error)."""
    if error.status != 400:
        return set()
    match = _UNKNOWN.search(error.api_message or "")
    if not match:
        return set()
    return {name.strip(" .'\"") for name in match.group(1).split(",") if name.strip(" .'\"")}


async def find_refused(names: list[str], probe: Probe, budget: int = MAX_PROBES) -> list[str] | None:
    """The names of `names` (a list the API refused as a whole) that it refuses, found by halving:
    of a refused group, the first half is probed; refused, the culprit is in it, else in the second
    half (no probe needed). One culprit found, the rest is probed: accepted, the search is over;
    refused, it goes on in the rest. About log2(len(names)) + 2 probes for one refused field.
    None when the fields are not the cause: even `fields=id` is refused, a field the sync cannot do
    without (`updated_at`) would go, or `budget` probes did not find a list the API accepts."""
    spent = 0

    async def accepted(group: list[str]) -> bool:
        nonlocal spent
        spent += 1
        return await probe(",".join(group))

    if not await accepted(["id"]):
        return None
    refused: list[str] = []
    rest = list(names)
    while rest:
        group = rest
        while len(group) > 1:
            if spent >= budget:
                return None
            first = group[: len(group) // 2]
            group = group[len(group) // 2:] if await accepted(first) else first
        if group[0] in ESSENTIAL:
            return None
        refused.append(group[0])
        rest = [name for name in rest if name != group[0]]
        if not rest or await accepted(rest):
            return refused
    return refused


class FieldSelection:
    def __init__(self, resources: tuple[Resource, ...], refused: Mapping[str, Iterable[str]] | None = None,
                 notify: Notify | None = None):
        self._resources = {r.table: r for r in resources}
        remembered = {table: set(names) for table, names in (refused or {}).items()}
        self._asked = {r.table: [n for n in r.requested_fields if n not in remembered.get(r.table, set())]
                       for r in resources}
        self._notify = notify
        self._locks: dict[str, asyncio.Lock] = {}
        self._probed: set[str] = set()  # tables whose refusal was probed in this sync
        self.probes = 0  # probe requests sent in this sync

    def param(self, table: str) -> str:
        return ",".join(self._asked[table])

    def refused(self, table: str) -> tuple[str, ...]:
        """The declared fields `table` does not ask for, in their declared order."""
        asked = set(self._asked[table])
        return tuple(n for n in self._resources[table].requested_fields if n not in asked)

    def columns(self, table: str, names: Iterable[str]) -> list[str]:
        fields = {f.api: f for f in self._resources[table].fields}
        return [column for name in names for column in fields[name].columns()]

    async def ask_again(self, table: str) -> None:
        """Ask for every field again (a full pass: should the API accept them now, every row gets them)."""
        if self.refused(table):
            self._asked[table] = list(self._resources[table].requested_fields)
            await self._changed(table)

    async def recover(self, table: str, error: ApiError, asked: str | None, probe: Probe) -> bool:
        """After `error` answered a request of `table` that asked for `asked`: True when the request
        is worth sending again with `param(table)` (refused fields dropped), False when the error
        stands (it is not about the fields, or it persists without the refused ones)."""
        if error.status != 400 or asked is None:
            return False
        lock = self._locks.setdefault(table, asyncio.Lock())
        async with lock:  # one probe per table; the others wait for its answer
            if asked != self.param(table):
                return True  # another walk dropped fields meanwhile: ask again with what is left
            named = [n for n in self._asked[table] if n in unknown_fields(error)]
            if named:
                self._drop(table, named)
                log.warning("%s: the API does not know the field(s) %s (%s); the column(s) %s stay null until the "
                            "connector is updated; the sync goes on without them", table, ", ".join(named),
                            error.api_message, ", ".join(self.columns(table, named)))
                await self._changed(table)
                return True
            if table in self._probed:
                return False
            self._probed.add(table)

            async def counted(names: str) -> bool:
                self.probes += 1
                return await probe(names)

            before = self.probes
            refused = await find_refused(self._asked[table], counted)
            if not refused:
                log.warning("%s: a list request with fields= was refused (HTTP 400: %s), and %d one-record request(s) "
                            "found no field whose removal the API accepts: the error stands", table,
                            error.api_message, self.probes - before)
                return False
            self._drop(table, refused)
            log.warning("%s: the API refused the field(s) %s in a list request (HTTP 400: %s; found with %d "
                        "one-record request(s)); the column(s) %s stay null, and the field(s) are asked for again at "
                        "the next full read of %s; the sync goes on without them", table, ", ".join(refused),
                        error.api_message, self.probes - before, ", ".join(self.columns(table, refused)), table)
            await self._changed(table)
            return True

    def _drop(self, table: str, names: list[str]) -> None:
        self._asked[table] = [n for n in self._asked[table] if n not in names]

    async def _changed(self, table: str) -> None:
        if self._notify is not None:
            await self._notify(table, self.refused(table))
