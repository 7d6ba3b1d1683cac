"""Knobs that are not user settings, with the defaults a real sync uses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tuning:
    """Knobs that are not user settings: tests and the bench change them."""

    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    burst_seconds: float = 2.0
    hour_seconds: float = 3600.0
    # A window whose query reports more is split, and no walk reads more in one query before it goes
    # on from where it got to (the API caps a query at 100,000, with or without saying so).
    window_records: int = 50_000
    min_pages_per_window: int = 5  # splitting for concurrency stops here: each window costs a partial page
    # An idle slot takes half of a window being read if each half keeps more pages than this: near
    # the end of a sync idle slots cost time, and a split costs at most one partial page.
    rebalance_min_pages: int = 1
    checkpoint_rows: int = 5_000  # checkpoint at least this often while a window is open (bounds buffered rows)
    checkpoint_seconds: float = 5.0
    progress_seconds: float = 10.0
    queue_pages: int = 0  # bounded queue size in pages; 0 = 2 × max_concurrency
    # The sync plans (when a full re-read is due, where initial_sync_days reaches) on the local
    # clock moved this far ahead: a test ages a warehouse by days without waiting for them.
    clock_offset_seconds: float = 0.0


DEFAULT_TUNING = Tuning()
