"""A stream's pass as plain data: its bounds from the first response, when it is done, how much a
resumed pass has left, and the progress figures. Pure: the scheduler feeds it and acts on answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from xurrent_async.state import Interval


@dataclass
class StreamProgress:
    windows_planned: int = 0
    windows_done: int = 0
    requests: int = 0
    idle_splits: int = 0  # windows being read that gave their far half to an idle slot
    # Walks that stopped short of their window and went on: the record cap (announced or seen in
    # the count, which records updated away mid-walk also shorten), or a walk that ran long.
    stopped_short: int = 0


def pass_bounds(date: float, first_updated: datetime | None, has_rows: bool, lower: int | None) -> Interval:
    """[lower, upper) of a new pass from its first response. `upper` is `date`, the response's
    Date (the local clock without one). A full pass (`lower` None) starts at its oldest record, the
    first of the sorted walk, or at the beginning of time when that one's time is unreadable."""
    upper = int(date)
    if lower is None:
        lower = int(first_updated.timestamp()) if first_updated is not None else (0 if has_rows else upper)
    # Never past the server's clock: a cursor ahead of it would skip what happens meanwhile.
    return min(lower, upper), upper


class Outstanding:
    """The walks each stream has spawned and not finished, and how many hold or wait for a slot.
    A stream's pass is done when its last walk ends: a walk spawns its successors (splits,
    continuations, an idle slot's tail) before it ends, so the count only reaches 0 at the end."""

    def __init__(self) -> None:
        self._by_stream: dict[str, int] = {}
        self.queued = 0  # walks waiting for or holding a slot, every stream

    def spawned(self, stream: str) -> None:
        self._by_stream[stream] = self._by_stream.get(stream, 0) + 1
        self.queued += 1

    def released(self) -> None:
        """A walk gave its slot back (its reading is over, for good or not)."""
        self.queued -= 1

    def ended(self, stream: str) -> bool:
        """A walk of `stream` ended; True when it was the last one: the pass is done."""
        self._by_stream[stream] -= 1
        return self._by_stream[stream] == 0


@dataclass
class Resume:
    """A resumed pass whose gaps are being sized by their first pages, for the resume line."""

    lower: int
    upper: int
    holes: int
    waiting: int = -1
    records: int | None = 0  # None: some gap's size is unknown

    def __post_init__(self) -> None:
        self.waiting = self.holes

    def sized(self, records: int | None) -> bool:
        """A gap's first page reported `records`; True once every gap has."""
        self.waiting -= 1
        self.records = None if records is None or self.records is None else self.records + records
        return self.waiting == 0
