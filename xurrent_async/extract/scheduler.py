"""Running the walks: tasks, slots, when each stream's pass is done, and its removal feeds after.

Every stream starts with one walk (a new pass) or one per gap (a resumed pass). A walk takes a
slot, reads its window (window.py) and, by the rules in plan.py, splits it at its first page,
continues it after the record cap, or, when a slot is idle, hands the far part of the biggest window
being read to a new walk. A stream's pass is done when its last walk ends (passes.py), and only
then are its removal feeds read: every delete is then a later word than that pass's upserts.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from xurrent_async.client import Page, XurrentClient
from xurrent_async.events import Event, FieldsRefused, PassDone, PassStarted, WindowDone, WindowsAdded
from xurrent_async.extract import plan
from xurrent_async.extract.passes import Outstanding, Resume, StreamProgress, pass_bounds
from xurrent_async.extract.plan import ActiveWindow, WalkMode
from xurrent_async.extract.window import WindowWalk, query_pages
from xurrent_async.field_selection import FieldSelection
from xurrent_async.pass_plan import PassStart, plan_passes
from xurrent_async.removals import FeedReader
from xurrent_async.resources import REMOVAL_FEEDS, Resource, RowMapper
from xurrent_async.settings import Settings
from xurrent_async.state import Interval, SyncState, gaps, to_iso
from xurrent_async.tuning import DEFAULT_TUNING, Tuning

log = logging.getLogger(__name__)
Emit = Callable[[Event], Awaitable[None]]


@dataclass(frozen=True)
class Walk:
    resource: Resource
    window: Interval
    mode: WalkMode = WalkMode.WINDOW
    id_after: int | None = None  # inside one second (walked by id): go on after this id

    @property
    def by_id(self) -> bool:
        return self.mode.by_id(self.window)


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
        plan: Mapping[str, PassStart] | None = None,
    ):
        self._client = client
        self._settings = settings
        self._state = state
        self._resources = resources
        self._by_table = {r.table: r for r in resources}
        self._emit = emit
        self._tuning = tuning
        self._now = now
        self._mappers = {r.table: RowMapper(r) for r in resources}
        self._fields = FieldSelection(resources, {r.table: state.stream(r.table).refused_fields for r in resources},
                                      self._fields_refused)
        self._removals = FeedReader(client, settings.max_records_per_page, emit, now, tuning.window_records)
        self._slots = asyncio.Semaphore(settings.max_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._outstanding = Outstanding()
        self._active: set[ActiveWindow] = set()  # windows being read that a split may shorten
        self._pass_upper: dict[str, int] = {}
        self._plan = plan  # where each new pass starts (pass_plan.py); None: planned when the run starts
        self._resuming: dict[str, Resume] = {}
        self._starting = False
        self.progress = {r.table: StreamProgress() for r in resources}

    async def _fields_refused(self, table: str, names: tuple[str, ...]) -> None:
        await self._emit(FieldsRefused(table, names))

    # -- tasks -----------------------------------------------------------------------------
    async def run(self) -> None:
        self._finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._starting = True  # a stream that ends at once must not end the run before the others start
        if self._plan is None:
            self._plan = plan_passes(self._settings, self._state, self._resources, self._now())
        try:
            for resource in self._resources:
                await self._start(resource)
            self._starting = False
            self._finish_if_idle()
            await self._finished  # set when the last task ends, or at the first failure
        finally:
            for task in self._tasks:
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    def _task(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
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
        else:
            self._finish_if_idle()

    def _finish_if_idle(self) -> None:
        # A walk spawns its successors before it ends, so no task left means nothing left to do.
        if not self._tasks and not self._starting and not self._finished.done():
            self._finished.set_result(None)

    def _spawn(self, walk: Walk) -> None:
        self._outstanding.spawned(walk.resource.table)
        self._task(self._tracked(walk))

    async def _tracked(self, walk: Walk) -> None:
        try:
            await self._walk(walk)
        finally:
            self._outstanding.released()
        await self._rebalance()
        if self._outstanding.ended(walk.resource.table):
            await self._pass_done(walk.resource)

    async def _pass_done(self, resource: Resource) -> None:
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

            self._task(read())

    # -- a stream's pass -------------------------------------------------------------------
    async def _start(self, resource: Resource) -> None:
        table = resource.table
        stream = self._state.stream(table)
        if stream.open_pass is not None:
            p = stream.open_pass
            self._pass_upper[table] = p.upper
            holes = gaps(p.lower, p.upper, p.done)
            self.progress[table].windows_planned += len(holes)
            if not holes:  # finished just before its cursor moved: only the PassDone is missing
                log.info("%s: resuming the pass %s → %s: nothing left to read", table, to_iso(p.lower),
                         to_iso(p.upper))
                await self._pass_done(resource)
                return
            await self._fields_for_pass(table, False)  # a pass resumed goes on with the fields it had
            # Said once the first page of every gap has told its size (no extra request for it).
            self._resuming[table] = Resume(p.lower, p.upper, len(holes))
            for hole in holes:
                self._spawn(Walk(resource, hole, WalkMode.GAP))
            return
        assert self._plan is not None
        start = self._plan[table]
        await self._fields_for_pass(table, start.full)
        self.progress[table].windows_planned += 1
        if start.lower is None:
            self._spawn(Walk(resource, (0, 0), WalkMode.PASS_FROM_OLDEST))
        else:
            self._spawn(Walk(resource, (start.lower, start.lower), WalkMode.PASS_FROM_LOWER))

    async def _fields_for_pass(self, table: str, full: bool) -> None:
        """A full pass asks again for the fields refused in an earlier sync (should the API accept
        them now, every row gets them); any other pass goes without them, and says so."""
        refused = self._fields.refused(table)
        if not refused:
            return
        if full:
            log.info("%s: asking again for the field(s) %s, refused in an earlier sync: this pass reads every record",
                     table, ", ".join(refused))
            await self._fields.ask_again(table)
            return
        log.warning("%s: not asking for the field(s) %s, which the API refused in an earlier sync; the column(s) %s "
                    "stay null on the rows this sync reads, until the next full read of %s", table, ", ".join(refused),
                    ", ".join(self._fields.columns(table, refused)), table)

    def _plan_pass(self, resource: Resource, page: Page, rows: list[dict[str, Any]], lower: int | None) -> Interval:
        date = page.server_date
        if date is None:
            date = self._now()
            log.warning("%s: the response had no Date header; using the local clock for the pass bound",
                        resource.table)
        first = rows[0].get("updated_at") if rows else None
        lower, upper = pass_bounds(date, first, bool(rows), lower)
        self._pass_upper[resource.table] = upper
        log.info("%s: pass %s → %s, %s record(s) to read", resource.table, to_iso(lower), to_iso(upper),
                 page.total_entries if page.total_entries is not None else "an unknown number of")
        return lower, upper

    def _sized(self, table: str, records: int | None) -> None:
        resume = self._resuming.get(table)
        if resume is None or not resume.sized(records):
            return
        del self._resuming[table]
        left = f"{resume.records:,}" if resume.records is not None else "an unknown number of"
        log.info("%s: resuming the pass %s → %s: %s records left to read in %d window(s)", table,
                 to_iso(resume.lower), to_iso(resume.upper), left, resume.holes)

    # -- one window ------------------------------------------------------------------------
    async def _walk(self, walk: Walk) -> None:
        """Read one window to its end, then say it is done or go on after the record cap."""
        resource = walk.resource
        table = resource.table
        reader = WindowWalk(table, self._mappers[table], self._emit, self.progress[table], walk.window, walk.by_id,
                            self._tuning.window_records)
        async with self._slots:
            lower, upper = walk.mode.query_bounds(walk.window)
            params = plan.query_params(self._settings.max_records_per_page, self._fields.param(table), lower,
                                       upper, walk.id_after, walk.by_id)
            pages = query_pages(self._client, self._fields, resource, params)
            try:
                await reader.read(pages, functools.partial(self._first_page, walk))
            finally:
                if reader.active is not None:
                    self._active.discard(reader.active)
                await pages.aclose()
        window = reader.covered()
        if reader.capped:
            await self._continue_after_cap(resource, window, reader)
            return
        self.progress[table].windows_done += 1
        await self._emit(WindowDone(table, window))

    async def _first_page(self, walk: Walk, page: Page, rows: list[dict[str, Any]],
                          window: Interval) -> tuple[Interval, ActiveWindow | None]:
        """What a walk's first page decides: a new pass's bounds, a split, and whether an idle slot
        may take part of the window while it is read."""
        table = walk.resource.table
        if walk.mode is WalkMode.GAP:
            self._sized(table, page.total_entries)
        if walk.mode.starts_pass:
            window = self._plan_pass(walk.resource, page, rows,
                                     window[0] if walk.mode is WalkMode.PASS_FROM_LOWER else None)
            assert self._plan is not None  # planned when the run started
            start = self._plan[table]
            await self._emit(PassStarted(table, *window, page.total_entries, start.full, start.history))
        lower, upper = window
        total = page.total_entries
        n = 1 if walk.by_id else self._pieces(page, window, walk.mode.starts_pass)
        if n > 1:
            # This walk goes on as the first piece: its first page is read already.
            upper = await self._split(walk.resource, window, n, keep_first=True)
            total = None if total is None else total // n
        active = None
        if not walk.by_id and (n > 1 or upper - lower > 1):
            active = ActiveWindow(table, lower, upper, total, self._pass_upper[table])
            self._active.add(active)
        return (lower, upper), active

    def _useful_slots(self) -> int:
        """The slots worth filling by splitting windows: all of them, unless the token's burst
        limit lets fewer requests through than they could send (then a split only adds requests)."""
        return self._client.governor.useful_in_flight(self._settings.max_concurrency)

    def _pieces(self, page: Page, window: Interval, new_pass: bool) -> int:
        seconds = window[1] - window[0]
        if seconds <= 1 or page.total_entries is None:
            return 1  # no slots to weigh (and no governor to ask)
        slots = plan.slots_to_fill(self._useful_slots(), self._outstanding.queued, len(self._resources), new_pass)
        return plan.pieces(page.total_entries, page.throttled, seconds, slots, self._settings.max_records_per_page,
                      self._tuning)

    async def _split(self, resource: Resource, window: Interval, n: int, *, keep_first: bool = False) -> int:
        """Split `window` into `n` windows of equal time and walk them; with `keep_first` the
        caller walks the first one itself. Returns where the first one ends."""
        children = plan.split_bounds(window, n)
        self.progress[resource.table].windows_planned += len(children) - 1
        await self._emit(WindowsAdded(resource.table, len(children) - 1))
        for child in children[1:] if keep_first else children:
            self._spawn(Walk(resource, child))
        return children[0][1]

    async def _rebalance(self) -> None:
        """A slot is idle: give it the far end of the biggest window still being read. That
        window stops where the new one starts (it reads in updated_at order, so it knows when)."""
        while self._outstanding.queued < self._useful_slots():
            taken = plan.take_tail(self._active, self._settings.max_records_per_page, self._tuning.rebalance_min_pages)
            if taken is None:
                return
            shortened, tail = taken
            resource = self._by_table[shortened.stream]
            self.progress[resource.table].windows_planned += 1
            self.progress[resource.table].idle_splits += 1
            # Spawned before the await: the shortened window may end meanwhile, and its stream
            # must not look finished while the far end is still unread.
            self._spawn(Walk(resource, tail))
            await self._emit(WindowsAdded(resource.table, 1))

    async def _continue_after_cap(self, resource: Resource, window: Interval, reader: WindowWalk) -> None:
        table = resource.table
        self.progress[table].stopped_short += 1
        then = plan.after_cap(table, window, reader.order, reader.by_id)
        if then.done is not None:
            self.progress[table].windows_done += 1
            await self._emit(WindowDone(table, then.done))
        self.progress[table].windows_planned += then.planned
        if then.added is not None:
            await self._emit(WindowsAdded(table, then.added))
        for child, id_after in then.walks:
            self._spawn(Walk(resource, child, id_after=id_after))
