"""Records left and time left, per stream and for the whole sync, for the log.

Every stream's requests are counted against the credentials they share: the pool serves all
streams side by side, so a stream is not done when its own requests would be through one
credential, but when the pool has sent its requests and the others' alongside them (estimate.py).
A pass's size is the first page's `X-Pagination-Total-Entries`; a resumed pass does not plan, so
its size is unknown and it is left out (and said to be).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence

from xurrent_async.estimate import Capacity, duration, seconds_for, stream_seconds


def requests_for(records: int, per_page: int) -> int:
    """Pages to read `records` (at least one: an empty query costs a request too)."""
    return max(1, math.ceil(records / per_page))


def describe_pool(pool: Sequence[Capacity]) -> str:
    """"3 credentials, 10,800 requests/hour": what the pool can sustain (", one burst window" when
    they share one)."""
    per_hour = sum(c.per_hour for c in pool)
    rate = "no rate limit" if math.isinf(per_hour) else f"{per_hour:,.0f} requests/hour"
    shared = ", one burst window" if any(c.burst_shared_by > 1 for c in pool) else ""
    return f"{len(pool)} credential{'s' if len(pool) != 1 else ''}{shared}, {rate}"


class TimeLeft:
    """What each planned stream had to read when its pass started, and what is left of it."""

    def __init__(self, per_page: int, planning: Iterable[str], resumed: Iterable[str] = ()):
        self._per_page = per_page
        self._planning = set(planning)  # streams whose pass will report its size
        self._resumed = sorted(resumed)
        self._total: dict[str, int] = {}
        self._rows_before: dict[str, int] = {}
        self._planned = False

    def pass_started(self, stream: str, records: int, rows_so_far: int) -> None:
        self._total[stream] = records
        self._rows_before[stream] = rows_so_far

    def records_left(self, rows: Mapping[str, int]) -> dict[str, int]:
        """Per stream of known size: its pass's records not yet delivered."""
        return {name: max(0, total - (rows.get(name, 0) - self._rows_before[name]))
                for name, total in self._total.items()}

    def _requests_left(self, rows: Mapping[str, int]) -> dict[str, float]:
        return {name: float(requests_for(n, self._per_page)) if n else 0.0
                for name, n in self.records_left(rows).items()}

    def plan(self, pool: Sequence[Capacity], sync_frequency_hours: int | None) -> list[tuple[int, str]]:
        """Once every planning stream knows its size: how long the pool's limits make the sync at
        best, and a warning when that is longer than the interval between syncs. Said once."""
        if self._planned or not self._planning <= set(self._total):
            return []
        self._planned = True
        records = sum(self._total.values())
        requests = {name: float(requests_for(n, self._per_page)) for name, n in self._total.items()}
        total = sum(requests.values())
        seconds = seconds_for(total, pool)
        each = stream_seconds(requests, pool)
        streams = ", ".join(f"{name} {duration(each[name])}" for name in sorted(each))
        unknown = f"; not counted: {', '.join(self._resumed)} (resumed, size unknown)" if self._resumed else ""
        lines = [(logging.INFO,
                  f"plan: about {records:,} records → about {total:,.0f} requests; at the limits of the pool "
                  f"({describe_pool(pool)}) that takes about {duration(seconds)} at best, every stream's requests "
                  f"on the same credentials ({streams}){unknown}")]
        hours = seconds / 3600
        if sync_frequency_hours and hours > sync_frequency_hours:
            per_hour = sum(c.per_hour for c in pool)
            lines.append((logging.WARNING,
                          f"at {per_hour:,.0f} requests/hour this sync needs about {hours:.1f} h, longer than "
                          f"sync_frequency_hours={sync_frequency_hours}; the next syncs resume where it stops, or add "
                          "credentials of other Xurrent users (each user has a quota of its own)"))
        return lines

    def stream_suffix(self, name: str, rows: Mapping[str, int], pool: Sequence[Capacity]) -> str:
        """"; about N records left, done in about T" for a stream of known size."""
        left = self.records_left(rows)
        if name not in left:
            return ""
        if not left[name]:
            return "; nothing left to read"
        done_in = stream_seconds(self._requests_left(rows), pool)[name]
        return f"; about {left[name]:,} records left, done in about {duration(done_in)}"

    def summary(self, rows: Mapping[str, int], pool: Sequence[Capacity]) -> str:
        """"about N records left; the pool sustains R: about T left" for the whole sync."""
        if not self._total:
            return ""
        records = sum(self.records_left(rows).values())
        seconds = seconds_for(sum(self._requests_left(rows).values()), pool) if records else 0.0
        unknown = f" (not counting {', '.join(self._resumed)}: resumed)" if self._resumed else ""
        return (f"about {records:,} records left{unknown}; at the limits of the pool ({describe_pool(pool)}) "
                f"about {duration(seconds)} left")
