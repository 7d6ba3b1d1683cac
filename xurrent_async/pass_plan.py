"""Where a stream's next pass starts, and why: a pure rule over the settings and the saved state.

- an open pass is resumed (extract/scheduler.py reads its gaps);
- otherwise, with incremental sync on and a cursor: the changes since the cursor, minus the lookback;
- a resource whose records Xurrent archives and restores (projects) re-reads every record every
  `projects_full_resync_days` days (0: never), because a restore may leave `updated_at` unchanged
  and the changes alone would never bring such a record back;
- otherwise (first sync, incremental off): full history, or the last `initial_sync_days` days.
"""

from __future__ import annotations

from dataclasses import dataclass

from xurrent_async.resources import Resource
from xurrent_async.settings import Settings
from xurrent_async.state import StreamState, to_iso

DAY = 86_400


@dataclass(frozen=True)
class PassStart:
    lower: int | None  # None: from the oldest record
    full: bool  # every record, not the changes
    why: str  # for the log


def full_read_due(settings: Settings, resource: Resource, stream: StreamState, now: float) -> bool:
    days = settings.projects_full_resync_days
    if resource.removed_as is None or days <= 0:
        return False
    return stream.full_read is None or now - stream.full_read >= days * DAY


def pass_start(settings: Settings, resource: Resource, stream: StreamState, now: float) -> PassStart:
    incremental = settings.enable_incremental_sync and stream.cursor is not None
    if incremental and not full_read_due(settings, resource, stream, now):
        assert stream.cursor is not None
        return PassStart(stream.cursor - settings.lookback_minutes * 60, False,
                         f"changes since {to_iso(stream.cursor)} (minus {settings.lookback_minutes} min lookback)")
    if incremental:
        last = "never" if stream.full_read is None else f"last on {to_iso(stream.full_read)}"
        why = (f"a full re-read (every {settings.projects_full_resync_days} day(s), {last}), so that restored "
               f"{resource.table} whose updated_at did not change come back")
    elif stream.cursor is None:
        why = "first sync"
    else:
        why = "incremental sync is off"
    if settings.initial_sync_days:
        # From the local clock (the server's is unknown before the first response), with a day to
        # spare: reading a little more history is harmless, less would lose records.
        return PassStart(int(now) - (settings.initial_sync_days + 1) * DAY, True,
                         f"the last {settings.initial_sync_days} day(s): {why}")
    return PassStart(None, True, f"full history: {why}")
