"""The rules that shape a stream's windows, as pure functions over plain data (no HTTP, no tasks).

How a walk queries (`WalkMode`, `query_params`), into how many windows a window splits at its first
page (`pieces`, `split_bounds`), which window an idle slot takes part of and where (`ActiveWindow`,
`take_tail`), and where a walk that stopped short of its window goes on (`after_cap`; whether it
did is record_cap.py's). The scheduler applies them; unit tests check
them on plain numbers.

Timestamps are printed in whole seconds, and the server may store and compare them with a fraction
(undocumented). Every rule here therefore judges by printed seconds only: a window [A, B) is asked
for as `>A−1s<B` (time_filter.py), a walk sorted by `updated_at,id` has printed seconds that never go
down (ids inside one printed second may, as the walk follows the stored fractions), and a window of
one second is walked sorted by `id`, the one order that goes on safely inside a second.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from xurrent_async.errors import XurrentError
from xurrent_async.state import Interval, to_iso
from xurrent_async.time_filter import window_filter
from xurrent_async.tuning import Tuning


class WalkMode(enum.Enum):
    """What a walk is, which decides its query and what its first page tells."""

    WINDOW = "window"  # a known window [lower, upper)
    GAP = "gap"  # a known window left open by an interrupted pass: its first page sizes the resume line
    PASS_FROM_OLDEST = "pass from oldest"  # a full pass's first request: no bounds yet
    PASS_FROM_LOWER = "pass from lower"  # a pass's first request from a known lower bound

    @property
    def starts_pass(self) -> bool:
        return self in (WalkMode.PASS_FROM_OLDEST, WalkMode.PASS_FROM_LOWER)

    def query_bounds(self, window: Interval) -> tuple[int | None, int | None]:
        """The bounds a walk's query carries: a pass's first request has no upper bound (the
        response's Date sets it), and a full pass's none at all (its oldest record sets the lower)."""
        lower, upper = window
        if self is WalkMode.PASS_FROM_OLDEST:
            return None, None
        if self is WalkMode.PASS_FROM_LOWER:
            return lower, None
        return lower, upper

    def by_id(self, window: Interval) -> bool:
        """Whether the walk of `window` is sorted by id: a known window of one second is. Its
        records share one printed second, so only id order lets a walk that stops early (the cap)
        go on where it stopped; sorted by time it would follow stored fractions nobody sees."""
        return not self.starts_pass and window[1] - window[0] == 1


def query_params(per_page: int, fields: str, lower: int | None, upper: int | None,
                 id_after: int | None, by_id: bool = False) -> dict[str, str]:
    """A window's query: sorted by `updated_at,id`, which every rule below relies on, or, for one
    second (`by_id`), by `id`, going on after `id_after`."""
    params = {"per_page": str(per_page), "fields": fields, "sort": "id" if by_id else "updated_at,id"}
    ts = window_filter(lower, upper)
    if ts:
        params["updated_at"] = ts
    if id_after is not None:
        params["id"] = f">{id_after}"
    return params


def replace_param(url: str, name: str, value: str) -> str:
    """`url` with one query parameter's value replaced (a Link carries every parameter)."""
    parts = urlsplit(url)
    pairs = [(k, value if k == name else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(pairs, quote_via=quote, safe=",:")))


# -- splitting at the first page --------------------------------------------------------------
def slots_to_fill(useful: int, queued: int, streams: int, new_pass: bool) -> int:
    """How many slots a window whose first page just came may fill by splitting. A new pass takes
    its share (every stream plans at once at the start); any other window the slots idle now, plus
    its own."""
    if new_pass:
        return 1 if useful == 1 else math.ceil(2 * useful / streams)  # alone, a split only costs requests
    return useful - queued + 1


def pieces(total: int | None, throttled: bool, seconds: int, slots: int, per_page: int, tuning: Tuning) -> int:
    """Into how many windows to split a window of `seconds` whose first page reported `total`
    records (1: do not split). Too big for one query, or throttled (the cap is near), it must split;
    with `slots` to fill it splits further while each piece keeps `min_pages_per_window` pages.
    Never finer than one second: a crowded second goes on by id instead."""
    if seconds <= 1 or total is None:
        return 1
    n = math.ceil(total / tuning.window_records) if total > tuning.window_records else 1
    if throttled:
        n = max(n, 2)
    if slots > 1:
        worth = total // (per_page * tuning.min_pages_per_window)
        n = max(n, min(slots, worth))
    return max(1, min(n, seconds))


def split_bounds(window: Interval, n: int) -> list[Interval]:
    """`window` in `n` windows of equal time (fewer when it has fewer seconds), tiling it."""
    lower, upper = window
    bounds = [lower + (upper - lower) * i // n for i in range(n + 1)]
    return [(a, b) for a, b in itertools.pairwise(bounds) if a < b]


# -- idle slots ---------------------------------------------------------------------------------
@dataclass(eq=False)
class ActiveWindow:
    """A window being read, as an idle slot sees it. Its walk is in `updated_at` order (printed
    seconds never go down), so once it has read past `upper` the rest belongs to the next window:
    shortening `upper` hands the far part to another walk, which re-reads at most the records
    printed in the second before it (its query starts at `>upper−1s`)."""

    stream: str
    lower: int
    upper: int
    total: int | None  # the records the first page reported for it; None: unknown, never split
    pass_upper: int  # the end of its stream's pass
    seen: int = 0
    last_second: int | None = None
    splittable: bool = field(init=False)

    def __post_init__(self) -> None:
        self.splittable = self.total is not None

    def remaining(self) -> int:
        return 0 if self.total is None else max(0, self.total - self.seen)

    def observe(self, rows: int, order: Order) -> bool:
        """After a page of `rows`: True when the walk has crossed `upper` (and may stop). An
        unordered walk cannot tell, so it is never split again."""
        self.seen += rows
        self.last_second = order.last_second
        self.splittable = order.ordered
        return order.ordered and order.last_second is not None and order.last_second >= self.upper

    def shortened(self) -> bool:
        """Ends before its pass: rows past `upper` are another window's (past the pass's end they
        are records changed since it began, kept as a bonus)."""
        return self.upper < self.pass_upper


def take_tail(active: Iterable[ActiveWindow], per_page: int, min_pages: int) -> tuple[ActiveWindow, Interval] | None:
    """Give an idle slot the far half of the unread part of the window with the most records left,
    if each half keeps more than `min_pages` pages; shortens that window and returns it with the
    half it gave away (None: nothing worth splitting). A window with under two unread seconds is
    marked unsplittable."""
    active = list(active)
    while True:
        candidates = [a for a in active if a.splittable and a.remaining() > 2 * per_page * min_pages]
        if not candidates:
            return None
        biggest = max(candidates, key=ActiveWindow.remaining)
        start = max(biggest.lower, (biggest.last_second or biggest.lower) + 1)  # its current second is being read
        if biggest.upper - start < 2:
            biggest.splittable = False
            continue
        middle = start + (biggest.upper - start) // 2
        tail = (middle, biggest.upper)
        biggest.upper = middle
        biggest.total = None if biggest.total is None else biggest.seen + biggest.remaining() // 2
        return biggest, tail


# -- the record cap -----------------------------------------------------------------------------
@dataclass
class Order:
    """What a walk has seen of its order: whether the printed seconds of its rows never went down
    (`ordered`: a sort by `updated_at` under either precision), whether their ids always went up
    (`ids_ascending`: a sort by `id`), the last readable second and the very last row's id."""

    ordered: bool = True
    ids_ascending: bool = True
    last_second: int | None = None
    last_id: int | None = None

    def observe(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            if self.last_id is not None and row["id"] <= self.last_id:
                self.ids_ascending = False
            self.last_id = row["id"]
            updated: datetime | None = row["updated_at"]
            if updated is None:
                continue  # warned about already; it cannot tell the order either way
            second = int(updated.timestamp())
            if self.last_second is not None and second < self.last_second:
                self.ordered = False
            self.last_second = second

    def complete(self, lower: int, end: int, by_id: bool) -> Interval | None:
        """The part of [lower, end) every record of which has been read: every second before the
        last row's (the walk is in order of printed seconds). A walk by id inside one second claims
        nothing."""
        if not self.ordered or self.last_second is None or by_id:
            return None
        through = min(self.last_second, end)
        return (lower, through) if through > lower else None


@dataclass(frozen=True)
class Continuation:
    """What follows a walk that stopped short of its window: the part now done, the windows to
    walk (with the id to go on after, for one second), and the count for a WindowsAdded (None:
    none sent)."""

    done: Interval | None
    walks: list[tuple[Interval, int | None]]
    added: int | None
    planned: int = 0  # new windows for the progress figures


def after_cap(stream: str, window: Interval, order: Order, by_id: bool = False) -> Continuation:
    """Where a walk of `window` that stopped short (the API's record cap, or a long walk) goes on.
    A walk of one second, by id, goes on after its last id. Ordered, every second before its last
    row's is complete: it goes on from that second; a stop inside the window's first second walks
    that second by id, from its start (sorted by time, the ids read so far are no prefix of it
    under fractional storage). Unordered, it splits in two."""
    lower, upper = window
    if by_id:
        if order.last_id is None or not order.ids_ascending:
            raise XurrentError(f"{stream}: a query inside one second reached the API's record cap and its "
                               f"records were not in id order, so it cannot be continued safely ({to_iso(lower)})")
        return Continuation(None, [((lower, upper), order.last_id)], None)
    second = order.last_second
    if not order.ordered or second is None:
        halves = split_bounds(window, 2)
        return Continuation(None, [(w, None) for w in halves], len(halves) - 1, len(halves) - 1)
    if second <= lower:  # the stop came inside the window's first second (or the one before it)
        rest = [((lower + 1, upper), None)] if upper - lower > 1 else []
        return Continuation(None, [((lower, lower + 1), None), *rest], 1 if rest else 0)
    rest = [((second, upper), None)] if second < upper else []
    return Continuation((lower, min(second, upper)), rest, 1 if rest else None)
