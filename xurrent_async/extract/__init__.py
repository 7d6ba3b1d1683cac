"""Concurrent extraction of every stream, in time windows, into ordered events.

A stream's pass covers [lower, upper). Its first request asks for `updated_at>=lower` sorted by
`updated_at,id` with no upper bound: the response's `Date` becomes `upper`, its
`X-Pagination-Total-Entries` sizes the plan, and when the stream is small the same query is simply
walked to the end (an incremental sync is then one request per page, nothing more). A window is
split when its first page shows it is bigger than a window may be (the API caps one query), or when
concurrency slots are idle and it is big enough to be worth it. A window [A, B) is asked for as
`updated_at=>A−1s<B`, which reads all of it whether the server compares whole seconds or fractions
(time_filter.py). A walk that stops short of its window (the cap, announced or seen in its count,
or a walk that runs long: half the cap) goes on from the `updated_at` second of its last record
(all earlier seconds are complete, because the walk is sorted); a window of one second is walked
sorted by `id` and goes on by `id`.

Every window ends with a `WindowDone` after its last `Rows`, on one FIFO queue: the consumer can
therefore record the window as done as soon as it reads that event.

Modules, each importing only those above it: plan.py and passes.py (the rules, pure), window.py
(walk one window), scheduler.py (tasks, slots, passes, removal feeds after a pass).
"""

from xurrent_async.extract.passes import StreamProgress
from xurrent_async.extract.scheduler import Extraction

__all__ = ["Extraction", "StreamProgress"]
