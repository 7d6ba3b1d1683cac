"""The typed messages extraction sends to the consumer, in order, over one queue.

Order is the contract: for a window, every `Rows` comes before its `WindowDone`, and every row of
a `Rows.done` interval comes in or before that `Rows`; a stream's `PassStarted` comes before
anything of that pass; a stream's removal feeds are read only after its `PassDone`, so every
`Removed` follows every `Rows` of that sync's pass and reflects a later moment in the source. The
consumer relies on it to checkpoint safely and to let the latest word win.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xurrent_async.resources import Issue
from xurrent_async.state import Interval


@dataclass(frozen=True)
class PassStarted:
    stream: str
    lower: int
    upper: int
    records: int | None  # the server's count for [lower, ∞) at the start, for the plan log
    full: bool = False  # a re-read of every record (the first pass, or a periodic full re-read)
    history: int | None = None  # a full pass: the history bound it reads from, for the state (0: oldest record)


@dataclass(frozen=True)
class Rows:
    stream: str
    rows: list[dict[str, Any]]
    problems: list[Issue] = field(default_factory=list)  # value problems: reported, not fatal
    # With these rows, every record of this interval of the pass has been sent: the part of an
    # open window before its last row's second (windows are read in updated_at, id order).
    done: Interval | None = None


@dataclass(frozen=True)
class WindowDone:
    stream: str
    window: Interval


@dataclass(frozen=True)
class WindowsAdded:
    stream: str
    count: int  # a window split or continued: for progress figures only


@dataclass(frozen=True)
class PassDone:
    stream: str


@dataclass(frozen=True)
class Removed:
    """A page of a removal feed (archive, trash): these records are removed. Every entry created
    before `upto` has now been read, so once the deletes are sent the state may say so."""

    stream: str
    feed: str
    ids: list[int]
    upto: int | None  # None: nothing can be claimed yet (no readable created_at so far)
    # The walk's last word, held before an entry it could not read: `upto` replaces the feed's
    # claim even when the claim was later (an entry that showed up late, behind it).
    held: bool = False


@dataclass(frozen=True)
class FeedRefused:
    """A removal feed cannot be read: the token may not (403) or the server has none (404). Deletes
    are not reflected; the sync goes on."""

    stream: str
    feed: str
    message: str
    status: int = 403


@dataclass(frozen=True)
class FieldsRefused:
    """The declared fields a stream no longer asks for, because the API refused them (empty: every
    field is asked for again). The state remembers them, so later syncs need not find them again."""

    stream: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Failed:
    error: BaseException


@dataclass(frozen=True)
class Finished:
    pass


Event = (PassStarted | Rows | WindowDone | WindowsAdded | PassDone | Removed | FeedRefused | FieldsRefused | Failed
         | Finished)
