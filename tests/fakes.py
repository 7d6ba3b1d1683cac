"""Test doubles shared by several test modules."""

from __future__ import annotations

from typing import Any


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

    def checkpoint(self, state: dict[str, Any]) -> None:
        self.ops.append(("checkpoint", None, state))
        self.checkpoints.append(state)
