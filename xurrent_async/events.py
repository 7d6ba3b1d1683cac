"""The typed messages extraction sends to the consumer, in order, over one queue.

Order is the contract: for a window, every `Rows` comes before its `WindowDone`, and every row of
a `Rows.done` interval comes in or before that `Rows`; a stream's `PassStarted` comes before
anything of that pass. The consumer relies on it to checkpoint safely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xurrent_async.state import Interval


@dataclass(frozen=True)
class PassStarted:
    stream: str
    lower: int
    upper: int
    records: int | None  # the server's count for [lower, ∞) at the start, for the plan log


@dataclass(frozen=True)
class Rows:
    stream: str
    rows: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)  # value problems: warned, not fatal
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
class Failed:
    error: BaseException


@dataclass(frozen=True)
class Finished:
    pass


Event = PassStarted | Rows | WindowDone | WindowsAdded | PassDone | Failed | Finished
