"""Test doubles shared by several test modules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from xurrent_async.state import from_iso


class RecordingSink:
    """A sink that remembers every operation in order, like the SDK would receive them."""

    def __init__(self, fail_on_upsert: int | None = None):
        self.ops: list[tuple[str, Any, Any]] = []
        self.rows: dict[str, dict[int, dict[str, Any]]] = {}
        self.checkpoints: list[dict[str, Any]] = []
        self._fail_on_upsert = fail_on_upsert
        self._upserts = 0

    def upsert(self, table: str, row: dict[str, Any]) -> None:
        self._upserts += 1
        if self._fail_on_upsert is not None and self._upserts >= self._fail_on_upsert:
            raise RuntimeError("destination write failed")
        self.ops.append(("upsert", table, row))
        self.rows.setdefault(table, {})[row["id"]] = row

    def delete(self, table: str, keys: dict[str, Any]) -> None:
        """A soft delete, as the SDK does it: a row this destination holds is marked deleted (and a
        later upsert makes it live again); a key it never held changes nothing."""
        self.ops.append(("delete", table, keys))
        row = self.rows.get(table, {}).get(keys["id"])
        if row is not None:
            self.rows[table][keys["id"]] = {**row, "_fivetran_deleted": True}

    def live(self, table: str) -> dict[int, dict[str, Any]]:
        return {k: r for k, r in self.rows.get(table, {}).items() if not r.get("_fivetran_deleted")}

    def deleted(self, table: str) -> set[int]:
        return {k for k, r in self.rows.get(table, {}).items() if r.get("_fivetran_deleted")}

    def checkpoint(self, state: dict[str, Any]) -> None:
        self.ops.append(("checkpoint", None, state))
        self.checkpoints.append(state)


def checkpoint_claims(ops: list[tuple[str, Any, Any]]) -> Iterator[tuple[str, int, int, set[int]]]:
    """For every checkpoint in `ops`, every interval of updated_at seconds it claims as delivered
    (everything before a stream's cursor, and its open pass's finished windows), with the ids of
    that stream upserted before that checkpoint: (stream, start, end, upserted)."""
    upserted: dict[str, set[int]] = {}
    for kind, table, payload in ops:
        if kind == "upsert":
            upserted.setdefault(table, set()).add(payload["id"])
            continue
        if kind != "checkpoint":
            continue
        for stream, data in payload["streams"].items():
            intervals = [(0, from_iso(data["cursor"]))] if data.get("cursor") else []
            if data.get("pass"):
                intervals += [(from_iso(a), from_iso(b)) for a, b in data["pass"]["done"]]
            for start, end in intervals:
                yield stream, start, end, upserted.setdefault(stream, set())
