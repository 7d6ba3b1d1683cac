"""Where each stream's next pass starts, and why: pure rules over the settings and the saved state.

A stream's next pass is, in this order:
- its open pass, resumed (extract/scheduler.py reads the gaps);
- a full pass when it has no cursor yet (its first sync) or incremental sync is off;
- a full re-read when one is due and may start in this sync (below);
- otherwise the changes since its cursor, minus the lookback.

Why re-read in full: some changes move no record's `updated_at`. Renaming a team, person, service,
organization or template changes the names copied into the records that point at it
(`support_team_name`, `parent_name`, …), and a project restored from the archive may keep its
`updated_at`: the changes alone never see either. A re-read falls due `full_resync_days` days after
the stream's last full pass (0: never), or at once when `initial_sync_days` now reaches back before
the history the table holds. One sync never re-reads two tables in full: a re-read starts only when
no other table is read in full in that sync, one per sync, a widened history first and then the one
longest overdue; the others read their changes and wait for a later sync.

The history bound: the first sync reads from `now − initial_sync_days` (with a day to spare), or
from the oldest record, and each full pass records its lower bound in the state (`history_from`).
Every later full pass starts at that bound or earlier, so a record that reached the warehouse is
re-read for as long as it exists: a later, smaller `initial_sync_days` never narrows it, a larger
one (or none) widens it. A state of an earlier version has no bound: its full passes start from the
oldest record, the only bound sure to cover what that warehouse holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from xurrent_async.resources import Resource
from xurrent_async.settings import Settings
from xurrent_async.state import StreamState, SyncState, to_iso

DAY = 86_400
BEGINNING = 0  # a history bound before every record: a full pass from the oldest record
# A window that reaches back less than this before the recorded history is the clocks of two
# machines disagreeing (the window follows the local clock), not a wider initial_sync_days.
WIDENS_BY = 3600


@dataclass(frozen=True)
class PassStart:
    lower: int | None  # None: from the oldest record
    full: bool  # every record, not the changes
    why: str  # for the log

    @property
    def history(self) -> int | None:
        """The history bound a full pass records for its stream (BEGINNING: from the oldest
        record); None for a pass of changes, which records none."""
        if not self.full:
            return None
        return BEGINNING if self.lower is None else self.lower


@dataclass(frozen=True)
class Due:
    """A full re-read that is due: what, why, and how urgent against the other streams' (lower first)."""

    what: str
    because: str
    urgency: tuple[int, float]

    @property
    def why(self) -> str:
        return f"{self.what}: {self.because}"


def window_start(settings: Settings, now: float) -> int:
    """Where `initial_sync_days` reaches back to from `now`, with a day to spare (the local clock:
    the server's is unknown before the first response; a little more history is harmless, less
    would lose records); BEGINNING when it is not set."""
    if settings.initial_sync_days is None:
        return BEGINNING
    return int(now) - (settings.initial_sync_days + 1) * DAY


def _at(bound: int) -> str:
    return "the oldest record" if bound <= BEGINNING else to_iso(bound)


def history_bound(settings: Settings, stream: StreamState, now: float) -> tuple[int, str]:
    """Where a full pass of this stream starts (BEGINNING: from its oldest record), and why."""
    window, recorded, days = window_start(settings, now), stream.history_from, settings.initial_sync_days
    if recorded is None and stream.cursor is None:  # its first sync: this bound becomes its history
        if window == BEGINNING:
            return BEGINNING, "from the oldest record (initial_sync_days is not set): the table's history"
        return window, (f"from {_at(window)}, the last {days} day(s) (initial_sync_days, with a day to spare): "
                        "the table's history from now on")
    if recorded is None:
        return BEGINNING, ("from the oldest record: the state does not say where this table's history begins (an "
                           "earlier version wrote it), and only the oldest record is sure to cover what it holds")
    if window < recorded:
        setting = f"initial_sync_days={days}" if days is not None else "initial_sync_days (now unset: full history)"
        return window, f"from {_at(window)}: {setting} reaches back before the table's history, which widens"
    alone = "" if window == recorded else f"; initial_sync_days={days} alone would start at {to_iso(window)}, later"
    return recorded, f"from {_at(recorded)}, where the table's history begins (never narrowed{alone})"


def _refreshes(resource: Resource) -> str:
    text = "names copied from referenced records (`<reference>_name`, …) are refreshed"
    if resource.removed_as is not None:
        text += f", and restored {resource.table} whose updated_at did not change come back"
    return text


def full_read_due(settings: Settings, resource: Resource, stream: StreamState, now: float) -> bool:
    """Whether a full re-read of this stream (with a cursor) is due, whoever goes first."""
    return due_re_read(settings, resource, stream, now) is not None


def due_re_read(settings: Settings, resource: Resource, stream: StreamState, now: float) -> Due | None:
    """A full re-read of a stream with a cursor is due: its history widened, or `full_resync_days`
    days have passed since its last full pass. None: it is not."""
    recorded = stream.history_from
    if recorded is not None and window_start(settings, now) <= recorded - WIDENS_BY:
        return Due("a full re-read", "the table's history widens", (0, 0.0))
    days = settings.full_resync_days
    if days <= 0 or (stream.full_read is not None and now - stream.full_read < days * DAY):
        return None
    last = "never" if stream.full_read is None else f"last on {to_iso(stream.full_read)}"
    return Due(f"a full re-read (every {days} day(s), {last})", _refreshes(resource),
               (1, float("-inf") if stream.full_read is None else float(stream.full_read)))


def _full(settings: Settings, stream: StreamState, now: float, why: str) -> PassStart:
    lower, bound = history_bound(settings, stream, now)
    return PassStart(None if lower <= BEGINNING else lower, True, f"{why}; {bound}")


def _changes(settings: Settings, stream: StreamState) -> PassStart:
    assert stream.cursor is not None
    return PassStart(stream.cursor - settings.lookback_minutes * 60, False,
                     f"changes since {to_iso(stream.cursor)} (minus {settings.lookback_minutes} min lookback)")


def plan_passes(settings: Settings, state: SyncState, resources: tuple[Resource, ...],
                now: float) -> dict[str, PassStart]:
    """The next pass of every stream that has no open pass (an open one is resumed instead)."""
    starts: dict[str, PassStart] = {}
    due: dict[str, Due] = {}
    # Tables read in full in this sync whatever happens: no re-read may join them.
    full = [r.table for r in resources if (p := state.stream(r.table).open_pass) is not None and p.full]
    for r in resources:
        stream = state.stream(r.table)
        if stream.open_pass is not None:
            continue
        if stream.cursor is None or not settings.enable_incremental_sync:
            starts[r.table] = _full(settings, stream, now,
                                    "first sync" if stream.cursor is None else "incremental sync is off")
            full.append(r.table)
        elif (d := due_re_read(settings, r, stream, now)) is not None:
            due[r.table] = d
    order = [r.table for r in resources]
    chosen = None if full or not due else min(due, key=lambda t: (due[t].urgency, order.index(t)))
    for table, d in due.items():
        stream = state.stream(table)
        if table == chosen:
            starts[table] = _full(settings, stream, now, d.why)
            continue
        now_full = ", ".join(full) if full else chosen
        change = _changes(settings, stream)
        starts[table] = PassStart(change.lower, False, f"{change.why}; {d.what} is due and waits for a later sync "
                                                       f"({now_full} read in full in this one: one table at a time)")
    for r in resources:
        stream = state.stream(r.table)
        if r.table not in starts and stream.open_pass is None:
            starts[r.table] = _changes(settings, stream)
    return {r.table: starts[r.table] for r in resources if r.table in starts}


def pass_start(settings: Settings, resource: Resource, stream: StreamState, now: float) -> PassStart:
    """One stream's next pass as if it were the only one (no other table competes for the sync)."""
    return plan_passes(settings, SyncState({resource.table: stream}), (resource,), now)[resource.table]

