"""A local Xurrent (formerly 4me) REST API for tests, the demo and the benchmark.

It plays the contract in xurrent-api.md over a seeded, generated data set of any size (records are
closed-form functions of their position, rendered on demand: a million records cost no memory):
bearer tokens and the OAuth client-credentials flow, cursor pagination with Link headers and the
record cap, filters and sorting, rate limits per user (the tokens and clients of one user, `users`,
share them; `other_integration_per_second` plays another integration spending each user's quota),
switchable faults, records that change while a sync runs, corrupt records on demand
(`sim.corrupt(collection, id, patch)`), and holds that keep requests waiting from the n-th page
served until a test releases them (`sim.hold_after(n)`). It binds 127.0.0.1 only, and imports
nothing from the connector.

Choices where the real API is unconfirmed or unspecified:
- default order is (updated_at, id) ascending for all three collections (the real default is by
  name for products, unconfirmed for the others); `sort=` takes id, created_at and updated_at, and
  an implicit id tie-breaker follows the direction of the last field named;
- a missing or unknown account header answers 404 {"message": "Unknown account: <x>"};
- a forbidden collection answers 403 {"message": "You are not authorized to access <collection>"};
- `page=` is ignored (cursor pagination only); X-RateLimit-* are omitted when the hourly limit is off;
- the burst window counts a user's requests, like the quota (`burst_scope="token"`: each token's;
  `"host"`: every request from one client address, all users together);
- renaming a referenced record (`sim.rename`) leaves the referencing records' updated_at as it was
  (`rename_touches_references=True`: it moves it);
- timestamps are stored and compared in whole seconds (`timestamp_precision="fractional"`: stored
  with a fraction, printed truncated, filtered and sorted at the fraction);
- a query over the record cap says `X-Pagination-Throttled: true` on every page (`throttled_header`:
  on the capped page only, or never), and `X-Pagination-Total-Entries` counts every match
  (`total_entries="capped"`: at most the cap).
See app.py for the order of checks.

    async with running_simulator(SimConfig(records=10_000)) as sim: ...  # sim.base_url, sim.token_url
    with SimulatorThread(SimConfig(records=10_000)) as sim: ...          # for synchronous callers
    python -m xurrent_async.simulator --port 8080 --records 10000          # from a shell
"""

from .clock import FakeClock, SystemClock
from .config import COLLECTIONS, FaultConfig, SimConfig
from .dataset import REMOVE
from .runner import SimulatorThread, running_simulator
from .server import Simulator
from .stats import SimStats

__all__ = [
    "COLLECTIONS",
    "REMOVE",
    "FakeClock",
    "FaultConfig",
    "SimConfig",
    "SimStats",
    "Simulator",
    "SimulatorThread",
    "SystemClock",
    "running_simulator",
]
