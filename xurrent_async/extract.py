"""Concurrent extraction of every stream, in time windows, into ordered events.

A stream's pass covers [lower, upper). Its first request asks for `updated_at>=lower` sorted by
`updated_at,id` with no upper bound: the response's `Date` becomes `upper`, its
`X-Pagination-Total-Entries` sizes the plan, and when the stream is small the same query is simply
walked to the end (an incremental sync is then one request per page, nothing more). A window is
split when its first page shows it is bigger than a window may be (the API caps one query), or when
concurrency slots are idle and it is big enough to be worth it. A query that still hits the cap is
continued from the `updated_at` second of its last record (all earlier seconds are complete,
because the walk is sorted); a single second above the cap is continued by `id`.

Every window ends with a `WindowDone` after its last `Rows`, on one FIFO queue: the consumer can
therefore record the window as done as soon as it reads that event.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from xurrent_async.client import Page, XurrentClient
from xurrent_async.errors import ApiError, XurrentError
from xurrent_async.events import Event, PassDone, PassStarted, Rows, WindowDone, WindowsAdded
from xurrent_async.field_selection import FieldSelection
from xurrent_async.pass_plan import pass_start
from xurrent_async.removals import FeedReader
from xurrent_async.resources import REMOVAL_FEEDS, Issue, Resource, RowMapper
from xurrent_async.settings import Settings
from xurrent_async.state import Interval, SyncState, gaps, to_iso
from xurrent_async.tuning import DEFAULT_TUNING, Tuning

log = logging.getLogger(__name__)
Emit = Callable[[Event], Awaitable[None]]


@dataclass
class StreamProgress:
    windows_planned: int = 0
    windows_done: int = 0
    requests: int = 0
    idle_splits: int = 0  # windows being read that gave their far half to an idle slot


@dataclass
class _Resume:
    """A resumed pass whose gaps are being sized by their first pages, for the resume line."""

    lower: int
    upper: int
    holes: int
    waiting: int = -1
    records: int | None = 0

    def __post_init__(self) -> None:
        self.waiting = self.holes


class _Active:
    """A window being read, as the rebalancer sees it."""

    def __init__(self, resource: Resource, lower: int, upper: int, total: int | None):
        self.resource = resource
        self.lower = lower
        self.upper = upper  # lowered by a split; the walk stops once its records reach it
        self.total = total
        self.seen = 0
        self.last_second: int | None = None
        self.splittable = total is not None

    def remaining(self) -> int:
        return 0 if self.total is None else max(0, self.total - self.seen)


def _before(rows: list[dict[str, Any]], upper: int) -> list[dict[str, Any]]:
    """The rows of an ordered page that belong before `upper` (and those whose time is unreadable)."""
    return [r for r in rows if (u := r["updated_at"]) is None or int(u.timestamp()) < upper]


def updated_at_filter(lower: int | None, upper: int | None) -> str | None:
    """The `updated_at` condition of the window [lower, upper) of whole seconds, in a documented form
    only: the API documents `>A<B` and `>=A<=B` but not `>=A<B` (an invalid condition is a 400), and
    timestamps have whole seconds, so [A, B) is exactly `>=A<=B−1s`."""
    if lower is not None and upper is not None:
        if upper <= lower:
            raise ValueError(f"empty window [{lower}, {upper})")
        return f">={to_iso(lower)}<={to_iso(upper - 1)}"
    if lower is not None:
        return f">={to_iso(lower)}"
    if upper is not None:
        return f"<={to_iso(upper - 1)}"
    return None


def _replace_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    pairs = [(k, value if k == name else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(pairs, quote_via=quote, safe=",:")))


class Extraction:
    def __init__(
        self,
        client: XurrentClient,
        settings: Settings,
        state: SyncState,
        resources: tuple[Resource, ...],
        emit: Emit,
        tuning: Tuning = DEFAULT_TUNING,
        now: Callable[[], float] = time.time,
    ):
        self._client = client
        self._settings = settings
        self._state = state
        self._resources = resources
        self._emit = emit
        self._tuning = tuning
        self._now = now
        self._mappers = {r.table: RowMapper(r) for r in resources}
        self._fields = FieldSelection(resources)
        self._removals = FeedReader(client, settings.max_records_per_page, emit, now)
        self._slots = asyncio.Semaphore(settings.max_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._outstanding: dict[str, int] = {}
        self._queued = 0  # windows waiting for or holding a slot
        self._active: set[_Active] = set()  # windows being read that a split may shorten
        self._pass_upper: dict[str, int] = {}
        self._full: dict[str, bool] = {}  # the new pass of a stream re-reads every record
        self._resuming: dict[str, _Resume] = {}
        self.progress = {r.table: StreamProgress() for r in resources}

    # -- orchestration ---------------------------------------------------------------------
    async def run(self) -> None:
        self._finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for resource in self._resources:
            self._start(resource)
        try:
            await self._finished  # set when the last window ends, or at the first failure
        finally:
            for task in self._tasks:
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, resource: Resource, coro: Awaitable[None]) -> None:
        self._outstanding[resource.table] = self._outstanding.get(resource.table, 0) + 1
        self._queued += 1
        task = asyncio.ensure_future(self._tracked(resource, coro))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        # Taken from every task, even after the first failure: a task whose exception nobody takes
        # makes asyncio print "Task exception was never retrieved" with its traceback.
        error = None if task.cancelled() else task.exception()
        if self._finished.done():
            return
        if error is not None:
            self._finished.set_exception(error)
        elif not self._tasks:  # a window spawns its successors before it ends, so this is the last
            self._finished.set_result(None)

    async def _tracked(self, resource: Resource, coro: Awaitable[None]) -> None:
        try:
            await coro
        finally:
            self._queued -= 1
        await self._rebalance()
        self._outstanding[resource.table] -= 1
        if self._outstanding[resource.table] == 0:
            await self._emit(PassDone(resource.table))
            if resource.removed_as is not None:
                self._read_removals(resource)

    def _read_removals(self, resource: Resource) -> None:
        """Read the resource's removal feeds, now that its pass has ended: every delete they send is
        then a later word than every upsert of that pass (a project read live and archived since
        ends deleted; one restored before the feed is read is not in it and stays live)."""
        stream = self._state.stream(resource.table)
        for feed in REMOVAL_FEEDS:
            known = stream.removals.get(feed)
            lower = None if known is None else known - self._settings.lookback_minutes * 60

            async def read(feed: str = feed, lower: int | None = lower) -> None:
                async with self._slots:
                    await self._removals.read(resource, feed, lower)

            task = asyncio.ensure_future(read())
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

    def _start(self, resource: Resource) -> None:
        stream = self._state.stream(resource.table)
        if stream.open_pass is not None:
            p = stream.open_pass
            self._pass_upper[resource.table] = p.upper
            holes = gaps(p.lower, p.upper, p.done)
            self.progress[resource.table].windows_planned += len(holes)
            if not holes:  # finished just before its cursor moved: only the PassDone is missing
                log.info("%s: resuming the pass %s → %s: nothing left to read", resource.table,
                         to_iso(p.lower), to_iso(p.upper))
                self._spawn(resource, asyncio.sleep(0))
                return
            # Said once the first page of every gap has told its size (no extra request for it).
            self._resuming[resource.table] = _Resume(p.lower, p.upper, len(holes))
            for hole in holes:
                self._spawn(resource, self._walk(resource, hole, sizing=True))
            return
        start = pass_start(self._settings, resource, stream, self._now())
        self._full[resource.table] = start.full
        self.progress[resource.table].windows_planned += 1
        if start.lower is None:
            self._spawn(resource, self._walk(resource, (0, 0), planning=1))
        else:
            self._spawn(resource, self._walk(resource, (start.lower, start.lower), planning=2))

    # -- one window ------------------------------------------------------------------------
    def _params(self, resource: Resource, lower: int | None, upper: int | None,
                id_after: int | None) -> dict[str, str]:
        params = {
            "per_page": str(self._settings.max_records_per_page),
            "fields": self._fields.param(resource.table),
            "sort": "updated_at,id",
        }
        ts = updated_at_filter(lower, upper)
        if ts:
            params["updated_at"] = ts
        if id_after is not None:
            params["id"] = f">{id_after}"
        return params

    async def _pages(self, resource: Resource, params: dict[str, str]) -> AsyncIterator[Page]:
        """Every page of one query, following `Link rel="next"`; a 400 naming unknown fields drops
        them and asks again (the same page: nothing was delivered from a refused request)."""
        url: str | None = self._client.url(resource.path)
        query: dict[str, str] | None = params
        while url is not None:
            try:
                page = await self._client.get_page(url, query)
            except ApiError as exc:
                if not self._fields.drop(resource.table, exc):
                    raise
                fields = self._fields.param(resource.table)
                if query is not None:
                    query = {**query, "fields": fields}
                else:  # a Link carries every parameter: replace the one that changed
                    url = _replace_param(url, "fields", fields)
                continue
            yield page
            url, query = page.next_url, None

    def _useful_slots(self) -> int:
        """The slots worth filling by splitting windows: all of them, unless the token's burst
        limit lets fewer requests through than they could send (then a split only adds requests)."""
        return self._client.governor.useful_in_flight(self._settings.max_concurrency)

    def _pieces(self, page: Page, window: Interval, planning: bool) -> int:
        """Into how many windows to split a window whose first page this is (1: do not split)."""
        total = page.total_entries
        if window[1] - window[0] <= 1 or total is None:
            return 1
        per_page = self._settings.max_records_per_page
        pieces = math.ceil(total / self._tuning.window_records) if total > self._tuning.window_records else 1
        if page.throttled:
            pieces = max(pieces, 2)
        slots = self._useful_slots()
        if planning:
            # A new pass takes its share of the slots: every stream plans at once at the start.
            idle = math.ceil(2 * slots / len(self._resources))
            if slots == 1:
                idle = 1  # nothing runs beside it: a split would only cost requests
        else:
            idle = slots - self._queued + 1  # this window's own slot is free
        if idle > 1:
            worth = total // (per_page * self._tuning.min_pages_per_window)
            pieces = max(pieces, min(idle, worth))
        return max(1, min(pieces, window[1] - window[0]))

    async def _walk(self, resource: Resource, window: Interval, *, id_after: int | None = None,
                    planning: int = 0, sizing: bool = False) -> None:
        """Read one window to its end. planning: 0 = a known window; 1 = the first request of a
        full pass (no lower bound yet); 2 = the first request of a pass from a known lower bound.
        sizing: a gap of a resumed pass, whose first page counts towards the resume line."""
        table = resource.table
        mapper = self._mappers[table]
        progress = self.progress[table]
        lower, upper = window
        active: _Active | None = None
        async with self._slots:
            query_lower = None if planning == 1 else lower
            query_upper = upper if planning == 0 else None
            pages = self._pages(resource, self._params(resource, query_lower, query_upper, id_after))
            first = True
            last_seen: tuple[datetime, int] | None = None  # (updated_at, id) of the last row with a readable time
            last_key: tuple[int, int] | None = None  # the same as (second, id)
            last_id: int | None = None  # id of the very last row
            ordered = True
            capped = False
            try:
                async for page in pages:
                    progress.requests += 1
                    problems: list[Issue] = []
                    rows = [mapper.map(record, problems) for record in page.records]
                    if first:
                        first = False
                        if sizing:
                            self._sized(table, page.total_entries)
                        if planning:
                            lower, upper = self._plan_pass(resource, page, rows, lower if planning == 2 else None)
                            window = (lower, upper)
                            await self._emit(PassStarted(table, lower, upper, page.total_entries,
                                                         self._full.get(table, False)))
                        pieces = 1 if id_after is not None else self._pieces(page, window, bool(planning))
                        total = page.total_entries
                        if pieces > 1:
                            # This walk goes on as the first piece: its first page is read already.
                            upper = await self._split(resource, window, pieces, keep_first=True)
                            total = None if total is None else total // pieces
                        if id_after is None and (pieces > 1 or upper - lower > 1):
                            active = _Active(resource, lower, upper, total)
                            self._active.add(active)
                    for row in rows:
                        updated = row["updated_at"]
                        if updated is None:
                            continue  # warned about already; it cannot tell the order either way
                        key = (updated, row["id"])
                        if last_seen is not None and key < last_seen:
                            ordered = False
                        last_seen = key
                    if rows:
                        last_id = rows[-1]["id"]
                        if last_seen is not None:
                            last_key = (int(last_seen[0].timestamp()), last_seen[1])
                    capped = page.throttled and page.next_url is None
                    crossed = False
                    if active is not None:
                        active.seen += len(rows)
                        active.last_second = last_key[0] if last_key else None
                        active.splittable = ordered
                        crossed = ordered and last_key is not None and last_key[0] >= active.upper
                        if crossed:
                            capped = False
                            if active.upper < self._pass_upper[table]:
                                # Shortened by a split: the rest of this page is the next window's,
                                # and upserting it twice would only cost time. (Past the pass's end
                                # it is kept: records changed since the pass began, a bonus.)
                                rows = _before(rows, active.upper)
                    if rows:
                        # Every second before the last row's is complete (the walk is in
                        # updated_at, id order): checkpoints may record that part of the window.
                        done = None
                        if ordered and last_key is not None and id_after is None:
                            through = min(last_key[0], active.upper if active is not None else upper)
                            done = (lower, through) if through > lower else None
                        await self._emit(Rows(table, rows, problems, done))
                    if crossed:
                        break
            finally:
                if active is not None:
                    self._active.discard(active)
                    window = (lower, active.upper)
                await pages.aclose()
        if capped:
            await self._continue_after_cap(resource, window, last_key, last_id, ordered)
            return
        progress.windows_done += 1
        await self._emit(WindowDone(table, window))

    def _sized(self, table: str, records: int | None) -> None:
        resume = self._resuming.get(table)
        if resume is None:
            return
        resume.waiting -= 1
        resume.records = None if records is None or resume.records is None else resume.records + records
        if resume.waiting == 0:
            del self._resuming[table]
            left = f"{resume.records:,}" if resume.records is not None else "an unknown number of"
            log.info("%s: resuming the pass %s → %s: %s records left to read in %d window(s)", table,
                     to_iso(resume.lower), to_iso(resume.upper), left, resume.holes)

    async def _rebalance(self) -> None:
        """A slot is idle: give it the far end of the biggest window still being read. That
        window stops where the new one starts (it reads in updated_at order, so it knows when)."""
        per_page = self._settings.max_records_per_page
        while self._queued < self._useful_slots():
            candidates = [a for a in self._active if a.splittable and a.remaining() > 2 * per_page *
                          self._tuning.rebalance_min_pages]
            if not candidates:
                return
            biggest = max(candidates, key=_Active.remaining)
            start = max(biggest.lower, (biggest.last_second or biggest.lower) + 1)
            if biggest.upper - start < 2:
                biggest.splittable = False
                continue
            middle = start + (biggest.upper - start) // 2
            tail = (middle, biggest.upper)
            biggest.upper = middle
            biggest.total = None if biggest.total is None else biggest.seen + (biggest.remaining() // 2)
            self.progress[biggest.resource.table].windows_planned += 1
            self.progress[biggest.resource.table].idle_splits += 1
            # Spawned before the await: the shortened window may end meanwhile, and its stream
            # must not look finished while the far end is still unread.
            self._spawn(biggest.resource, self._walk(biggest.resource, tail))
            await self._emit(WindowsAdded(biggest.resource.table, 1))

    def _plan_pass(self, resource: Resource, page: Page, rows: list[dict[str, Any]],
                   lower: int | None) -> Interval:
        if page.server_date is not None:
            upper = int(page.server_date)
        else:
            upper = int(self._now())
            log.warning("%s: the response had no Date header; using the local clock for the pass bound",
                        resource.table)
        if lower is None:
            # A full pass starts at the oldest record: the walk is sorted, so it is the first one.
            # Without a readable timestamp there, it starts at the beginning of time instead.
            first = rows[0].get("updated_at") if rows else None
            lower = int(first.timestamp()) if first is not None else (0 if rows else upper)
        # Never past the server's clock: a cursor ahead of it would skip what happens meanwhile.
        lower = min(lower, upper)
        self._pass_upper[resource.table] = upper
        log.info("%s: pass %s → %s, %s record(s) to read", resource.table, to_iso(lower), to_iso(upper),
                 page.total_entries if page.total_entries is not None else "an unknown number of")
        return lower, upper

    async def _split(self, resource: Resource, window: Interval, pieces: int, *, keep_first: bool = False) -> int:
        """Split `window` into `pieces` windows of equal time and walk them; with `keep_first` the
        caller walks the first one itself. Returns where the first one ends."""
        lower, upper = window
        bounds = [lower + (upper - lower) * i // pieces for i in range(pieces + 1)]
        children = [(a, b) for a, b in itertools.pairwise(bounds) if a < b]
        self.progress[resource.table].windows_planned += len(children) - 1
        await self._emit(WindowsAdded(resource.table, len(children) - 1))
        for child in children[1:] if keep_first else children:
            self._spawn(resource, self._walk(resource, child))
        return children[0][1]

    async def _continue_after_cap(self, resource: Resource, window: Interval, last_key: tuple[int, int] | None,
                                  last_id: int | None, ordered: bool) -> None:
        lower, upper = window
        if upper - lower <= 1 and ordered and last_id is not None:
            # One second is in id order whatever its rows' timestamps say: continue after the last id.
            self._spawn(resource, self._walk(resource, (lower, lower + 1), id_after=last_id))
            return
        if not ordered or last_key is None:
            if upper - lower <= 1:
                raise XurrentError(
                    f"{resource.table}: a query reached the API's record cap and its records were not in "
                    f"updated_at order, so it cannot be continued safely ({to_iso(lower)})"
                )
            await self._split(resource, window, 2)
            return
        last_second, last_keyed_id = last_key
        if last_second <= lower:
            # The cap was reached inside one second: continue that second by id.
            await self._emit(WindowsAdded(resource.table, 1 if upper - lower > 1 else 0))
            self._spawn(resource, self._walk(resource, (lower, lower + 1), id_after=last_keyed_id))
            if upper - lower > 1:
                self._spawn(resource, self._walk(resource, (lower + 1, upper)))
            return
        # Every second before the last record's is complete.
        self.progress[resource.table].windows_done += 1
        await self._emit(WindowDone(resource.table, (lower, min(last_second, upper))))
        if last_second < upper:
            await self._emit(WindowsAdded(resource.table, 1))
            self._spawn(resource, self._walk(resource, (last_second, upper)))
