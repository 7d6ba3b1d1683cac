"""`python -m xurrent_async.bench`: how fast the connector is, against what bounds it.

    python -m xurrent_async.bench [--quick] [--check] [--only NAME ...] [--json FILE] [--keep]

Every figure comes from runs this invocation makes, side by side against the same simulated
account; nothing is a stored constant. The scenarios (scenarios/, one module each or a family;
their list in scenarios/__init__.py):

* original-burst, original-unlimited: the approach of Fivetran's original Xurrent example (stream
  after stream, one request in flight, 25 records a page), rendered fairly (the same aiohttp with
  keep-alive and gzip, the same `fields=`, Link pagination, the same RowMapper) against this
  connector's `run_sync`, at ~150 ms latency, with the real burst limit and with limits off.
* limits: requests made against what the burst limit and a scaled hourly quota allow, and no 429.
* tokens-3: a full sync with three credentials of distinct users (each the real burst limit and a
  scaled hourly quota), beside the same sync with one: the speed-up, and the request rate against
  three times what one credential may send, with no 429. tokens-3-host: the same two syncs against a
  burst limit counted per host (one window for every user's requests from this machine): three
  credentials no slower than one, with few 429s while the pool finds the shared window.
  tokens-3-busy: the same two syncs while another integration of each user spends 1 request/s of
  its quota: every credential carries a share, and three are at least 2.3× as fast as one.
* latency-8, latency-32: requests/s with C in flight against C / latency, through the connector's
  client, next to a bare aiohttp loop doing the same walks (what this machine and simulator allow);
  latency-8-sync: the same figure for a whole run_sync, windowing included.
* efficiency: requests made against the minimum, on a full sync that runs into the record cap.
* sdk: rows/s through the SDK's own local runner against a plain `op.upsert` loop over the same rows.
* memory: peak RSS of a 1,000,000-record run_sync against a 100,000-record one (full run only);
  memory-sdk (only with --only): the same through the SDK's runner, 200,000 against 20,000 rows.

The simulator runs in this process, in a daemon thread. The code under test runs in a fresh worker
process (`--worker`), the same way for both sides of every comparison, and times itself: the
simulator spends 3–4 ms of CPU on a 100-record page, and sharing one GIL with it would make the bench
time the simulator instead of the connector. The simulator is single-threaded Python, but its
latency runs from a request's arrival to its answer and hides its own work, as a real, parallel
API's does: requests that arrive together are not answered one render apart. Rows marked
"reference" show what the machine and the simulator leave for any client.

The package: cli.py (the command line), runner.py (Bench, Scenario, run_scenarios: workers and
what a run's scenarios share), worker.py (a job of the code under test, timed in its own process),
clients.py (the original example's approach and bare page walks, run in the workers),
plain_connector.py (the plain upsert loop, copied into a project), simulated.py (a scenario's
simulated account and settings), bounds.py (what a perfect client could do: pure arithmetic),
sizes.py (full and quick sizes, fixed figures), results.py (Row, Target), report.py (table, JSON).
Nothing in the connector imports it, and `make package` leaves it out.
"""
