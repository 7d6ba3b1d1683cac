"""One sync, from the caller's (the SDK's `update()`) thread: start the extraction in the bridge,
turn its events into upserts and, in order, checkpoints.

The sink is what `connector.py` passes in (`op.upsert` / `op.checkpoint`); this module never
imports the SDK, so tests drive it with a fake sink that records the order of operations.

Checkpoint rule ("Checkpoints in order", README: Architecture): the state handed to `checkpoint`
only names windows whose
`WindowDone` has been consumed, and parts of open windows (`Rows.done`) whose rows came with or
before that event; the queue is FIFO with this one consumer, so every row of those intervals has
already gone to `upsert`. Checkpoints come every few thousand rows or seconds, so the SDK's buffer
of uncommitted rows stays small and a kill costs at most that much re-reading, about a page per
open window.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from xurrent_async.bridge import Bridge
from xurrent_async.client import ClientStats
from xurrent_async.errors import Interrupted, XurrentError
from xurrent_async.events import (
    Event,
    Failed,
    FeedRefused,
    FieldsRefused,
    Finished,
    PassDone,
    PassStarted,
    Removed,
    Rows,
    WindowDone,
    WindowsAdded,
)
from xurrent_async.extract import Extraction, StreamProgress
from xurrent_async.pass_plan import PassStart, plan_passes
from xurrent_async.pool import CredentialPool
from xurrent_async.progress import TimeLeft, requests_for
from xurrent_async.resources import RESOURCES, Resource
from xurrent_async.session import open_client
from xurrent_async.settings import Settings
from xurrent_async.state import Source, SyncState, gaps, to_iso
from xurrent_async.tuning import DEFAULT_TUNING, Tuning
from xurrent_async.value_problems import ValueProblemLog

log = logging.getLogger("xurrent_async.sync")


class Sink(Protocol):
    def upsert(self, table: str, row: dict[str, Any]) -> None: ...

    def delete(self, table: str, keys: dict[str, Any]) -> None: ...

    def checkpoint(self, state: dict[str, Any]) -> None: ...


@dataclass
class StreamReport:
    rows: int = 0
    deletes: int = 0  # records the archive and trash say are removed (soft deletes sent)
    windows_done: int = 0
    windows_planned: int = 0
    problems: int = 0
    passes_done: int = 0


@dataclass
class SyncReport:
    streams: dict[str, StreamReport] = field(default_factory=dict)
    requests: int = 0
    throttled: int = 0
    retries: int = 0
    checkpoints: int = 0
    idle_splits: int = 0  # each may re-read up to a page where the split cut a page short
    seconds: float = 0.0
    state: dict[str, Any] = field(default_factory=dict)
    value_problems: list[str] = field(default_factory=list)  # one line per distinct problem, with its count

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.streams.values())

    @property
    def deletes(self) -> int:
        return sum(s.deletes for s in self.streams.values())


class _Live:
    """What the worker thread exposes for progress lines (read-only from this thread)."""

    client_stats: ClientStats | None = None
    progress: dict[str, StreamProgress] | None = None
    pool: CredentialPool | None = None
    time_left: TimeLeft | None = None  # kept by this thread, from the passes' first pages


class Consumer:
    def __init__(self, state: SyncState, sink: Sink, tuning: Tuning, clock: Callable[[], float],
                 live: _Live | None = None):
        self.state = state
        self._sink = sink
        self._tuning = tuning
        self._clock = clock
        self._live = live or _Live()
        self.report = SyncReport()
        self.value_problems = ValueProblemLog()
        self._feeds_refused: set[str] = set()
        self._pending_rows = 0
        self._dirty = False
        self._last_checkpoint = clock()
        self._last_progress = clock()
        self._started = clock()

    def _stream(self, name: str) -> StreamReport:
        return self.report.streams.setdefault(name, StreamReport())

    def handle(self, event: Event) -> bool:
        """Apply one event. Returns False after the final one."""
        if isinstance(event, Rows):
            self._rows(event)
        elif isinstance(event, WindowDone):
            self.state.window_done(event.stream, event.window)
            self._stream(event.stream).windows_done += 1
            self._dirty = True
            self._maybe_checkpoint()
        elif isinstance(event, PassStarted):
            self.state.start_pass(event.stream, event.lower, event.upper, event.full, event.history)
            self._stream(event.stream).windows_planned += 1
            self._dirty = True
        elif isinstance(event, WindowsAdded):
            self._stream(event.stream).windows_planned += event.count
        elif isinstance(event, PassDone):
            self.state.finish_pass(event.stream)
            self._stream(event.stream).passes_done += 1
            # Saved at once, before the stream's removal feeds are read: a feed that fails the sync
            # must not take the finished pass with it (the next sync would read it all again).
            self._checkpoint()
            cursor = self.state.stream(event.stream).cursor
            log.info("%s: done, %s rows; cursor now %s", event.stream, f"{self._stream(event.stream).rows:,}",
                     to_iso(cursor) if cursor is not None else "unset")
        elif isinstance(event, Removed):
            self._removed(event)
        elif isinstance(event, FeedRefused):
            if not self._feeds_refused:
                log.warning("%s", feed_refused_warning(event))
            self._feeds_refused.add(event.feed)
        elif isinstance(event, FieldsRefused):
            self.state.stream(event.stream).refused_fields = list(event.fields)
            self._dirty = True
        elif isinstance(event, Finished):
            self._checkpoint()
            return False
        elif isinstance(event, Failed):
            raise _detached(event.error)
        self._maybe_progress()
        return True

    def save(self) -> None:
        """Checkpoint now whatever is pending (before the sync stops on purpose)."""
        if self._pending_rows or self._dirty:
            self._checkpoint()

    def idle(self) -> None:
        """No event for a while (the API is slow or the token waits): save what is due by the
        clock, ended windows and passes included, and say how far the sync is."""
        self._maybe_checkpoint()
        self._maybe_progress()

    def _removed(self, event: Removed) -> None:
        """Deletes first, then the state may say the feed was read that far (the queue is FIFO with
        this one consumer, as for windows)."""
        delete = self._sink.delete
        for record_id in event.ids:
            delete(event.stream, {"id": record_id})
        self._stream(event.stream).deletes += len(event.ids)
        self._pending_rows += len(event.ids)
        if event.upto is not None:
            self.state.feed_read(event.stream, event.feed, event.upto, event.held)
            self._dirty = True
        self._maybe_checkpoint()

    def _rows(self, event: Rows) -> None:
        upsert = self._sink.upsert
        table = event.stream
        for row in event.rows:
            upsert(table, row)
        if event.done is not None:  # its rows are upserted, so the next checkpoint may claim it
            self.state.window_done(table, event.done)
        report = self._stream(table)
        report.rows += len(event.rows)
        self._pending_rows += len(event.rows)
        for issue in event.problems:
            report.problems += 1
            self.value_problems.add(issue)
        self._maybe_checkpoint()

    def _maybe_checkpoint(self) -> None:
        """Every `checkpoint_rows` rows (the SDK holds them in memory until then) or every
        `checkpoint_seconds` while anything is pending. Not at every window's end: a local
        checkpoint writes each table with rows waiting, a cost per call that a fast sync pays often."""
        if self._pending_rows >= self._tuning.checkpoint_rows or (
            (self._pending_rows or self._dirty)
            and self._clock() - self._last_checkpoint >= self._tuning.checkpoint_seconds
        ):
            self._checkpoint()

    def _checkpoint(self) -> None:
        if self._live.pool is not None:  # what the pool found about the burst window, for the next syncs
            self.state.burst = self._live.pool.burst_memory
        self._sink.checkpoint(self.state.to_json())
        self.report.checkpoints += 1
        self._pending_rows = 0
        self._dirty = False
        self._last_checkpoint = self._clock()

    def _maybe_progress(self, final: bool = False) -> None:
        now = self._clock()
        if not final and now - self._last_progress < self._tuning.progress_seconds:
            return
        self._last_progress = now
        elapsed = max(now - self._started, 1e-9)
        stats = self._live.client_stats
        time_left = self._live.time_left
        capacities = self._live.pool.capacities() if self._live.pool is not None else []
        rows = {name: report.rows for name, report in self.report.streams.items()}
        for name, report in sorted(self.report.streams.items()):
            live = (self._live.progress or {}).get(name)
            requests = f", {live.requests:,} requests" if live else ""
            deletes = f", {report.deletes:,} removed (deletes)" if report.deletes else ""
            left = time_left.stream_suffix(name, rows, capacities) if time_left is not None and not final else ""
            log.info("%s: %s rows (%.0f/s)%s, windows %d/%d done%s%s", name, f"{report.rows:,}",
                     report.rows / elapsed, deletes, report.windows_done,
                     max(report.windows_planned, report.windows_done), requests, left)
        if stats is not None:
            summary = time_left.summary(rows, capacities) if time_left is not None and not final else ""
            log.info("all streams: %s requests (%.1f/s), %d throttled (429), %d retries%s", f"{stats.requests:,}",
                     stats.requests / elapsed, stats.throttled, stats.retries, f"; {summary}" if summary else "")


def feed_refused_warning(event: FeedRefused) -> str:
    """The one warning of a sync whose removal feeds cannot be read."""
    if event.status == 404:
        why = (f"Xurrent answered 404 for /v1/{event.feed} ({event.message}): this server offers no archive and trash "
               f"to read, so archived and trashed {event.stream} are not marked deleted in the warehouse")
    else:
        why = (f"the token may not read /v1/{event.feed} (HTTP 403: {event.message}): archived and trashed "
               f"{event.stream} are not marked deleted in the warehouse until the token's user may read the archive "
               "and trash")
    return f"{event.stream}: {why}; the rest of the sync goes on"


def _detached(error: BaseException) -> BaseException:
    """The worker's error, cut from the worker's frames before it is raised in update(): the SDK's
    crash report prints every frame's local variables, and those frames hold bearer tokens. The
    traceback (file and line, no locals) is logged first, for unexpected errors."""
    if not isinstance(error, XurrentError):
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        log.error("The extraction failed unexpectedly:\n%s", text)
    error.__traceback__ = None
    error.__cause__ = None
    error.__context__ = None
    return error


def describe_plan(state: SyncState, resources: tuple[Resource, ...], plan: dict[str, PassStart]) -> list[str]:
    """One line per stream saying what this sync will read, and why, for the log (no secrets)."""
    lines = []
    for r in resources:
        s = state.stream(r.table)
        if s.open_pass is not None:
            p = s.open_pass
            what = (f"resuming the {'full ' if p.full else ''}pass {to_iso(p.lower)} → {to_iso(p.upper)}, "
                    f"{len(gaps(p.lower, p.upper, p.done))} window(s) left")
        else:
            what = plan[r.table].why
        if r.removed_as is not None:
            what += "; then the archive and trash, for removed " + r.table
        lines.append(f"{r.table}: {what}")
    return lines


def run_sync(
    settings: Settings,
    saved_state: Any,
    sink: Sink,
    *,
    resources: tuple[Resource, ...] = RESOURCES,
    tuning: Tuning = DEFAULT_TUNING,
    clock: Callable[[], float] = time.monotonic,
    stop: threading.Event | None = None,
) -> SyncReport:
    """One sync. Setting `stop` (Ctrl-C) ends it at the next event or idle poll: what was read is
    checkpointed, then Interrupted is raised."""
    state = SyncState.from_json(saved_state, tuple(r.table for r in resources))
    source = Source(settings.account_id, settings.api_host)
    if state.bind(source) and any(s.cursor is not None or s.open_pass is not None for s in state.streams.values()):
        log.warning("The saved state does not say which account it was written for (an earlier version wrote "
                    "it); taking it as %s's. If it belongs to another account or host, start over: "
                    "`fivetran reset --yes` locally, a full re-sync on Fivetran.", source)
    plan = plan_passes(settings, state, resources, time.time() + tuning.clock_offset_seconds)
    for line in describe_plan(state, resources, plan):
        log.info("plan: %s", line)
    snapshot = copy.deepcopy(state)  # the worker plans from its own copy; the consumer owns `state`
    live = _Live()
    resumed = [r.table for r in resources if state.stream(r.table).open_pass is not None]
    live.time_left = TimeLeft(settings.max_records_per_page, [r.table for r in resources if r.table not in resumed],
                              resumed)

    async def produce(emit: Callable[[Event], Any]) -> None:
        async with open_client(settings, tuning, snapshot.burst) as client:
            extraction = Extraction(client, settings, snapshot, resources, emit, tuning, plan=plan)
            live.client_stats = client.stats
            live.progress = extraction.progress
            live.pool = client.pool
            await extraction.run()

    consumer = Consumer(state, sink, tuning, clock, live)
    started = clock()

    def stop_if_asked() -> None:
        if stop is not None and stop.is_set():
            consumer.save()
            raise Interrupted(f"Interrupted (Ctrl-C). What was read until now is saved ({consumer.report.rows:,} "
                              "rows in this run): rerun to resume.")

    def idle() -> None:
        consumer.idle()
        stop_if_asked()

    queue_pages = tuning.queue_pages or 2 * settings.max_concurrency
    with Bridge(produce, maxsize=queue_pages) as bridge:
        for event in bridge.events(idle=idle):
            if not isinstance(event, Finished):
                stop_if_asked()  # before the event: its rows are not upserted yet
            if isinstance(event, PassStarted) and event.records is not None:
                _log_pass_plan(settings, event, live, consumer.report.streams.get(event.stream))
            if not consumer.handle(event):
                break
    return _final_report(consumer, live, clock() - started)


def _final_report(consumer: Consumer, live: _Live, seconds: float) -> SyncReport:
    """The consumer's report completed with the worker's totals, and the sync's closing log lines:
    value problems with their counts, the last progress figures, one summary line."""
    report = consumer.report
    report.seconds = seconds
    if live.client_stats is not None:
        report.requests = live.client_stats.requests
        report.throttled = live.client_stats.throttled
        report.retries = live.client_stats.retries
    if live.progress is not None:
        report.idle_splits = sum(p.idle_splits for p in live.progress.values())
    report.state = consumer.state.to_json()
    report.value_problems = consumer.value_problems.summary()
    for line in report.value_problems:
        log.warning("value problem: %s", line)
    consumer._maybe_progress(final=True)
    log.info("sync finished: %s rows and %s deletes in %.1f s, %s requests, %d throttled (429), %d retries, "
             "%d checkpoints, %d window(s) split for idle slots", f"{report.rows:,}", f"{report.deletes:,}",
             report.seconds, f"{report.requests:,}", report.throttled, report.retries, report.checkpoints,
             report.idle_splits)
    return report


def _log_pass_plan(settings: Settings, event: PassStarted, live: _Live, report: StreamReport | None) -> None:
    """A pass's size, and once every stream that plans has said its size, how long the pool's limits
    make the whole sync at best (every stream's requests on the same credentials)."""
    records = event.records or 0
    log.info("%s: about %s records → about %s requests", event.stream, f"{records:,}",
             f"{requests_for(records, settings.max_records_per_page):,}")
    if live.time_left is None or live.pool is None:
        return
    live.time_left.pass_started(event.stream, records, report.rows if report is not None else 0)
    for level, line in live.time_left.plan(live.pool.capacities(), settings.sync_frequency_hours):
        log.log(level, "%s", line)
