"""End to end through the SDK's own local runner (`fivetran debug`), against the simulator: what
lands in DuckDB equals the source, including after kills at arbitrary moments."""

import random
import re
import signal

import pytest

import connector
from tests.sdk_harness import differences, held_and_saved, make_project, run_debug, saved_state, warehouse
from xurrent_async.resources import parse_timestamp
from xurrent_async.simulator import COLLECTIONS, SimConfig, SimulatorThread
from xurrent_async.state import from_iso, gaps

pytestmark = pytest.mark.slow


def _config(sim, **extra) -> dict[str, str]:
    config = {"oauth_token": "sim-token", "account_id": "sim-account", "base_url": sim.base_url,
              "burst_limit": "10000", "rate_limit_per_hour": "1000000"}
    config.update(extra)
    return config


DUCKDB_TYPES = {"LONG": "BIGINT", "INT": "INTEGER", "STRING": "VARCHAR", "BOOLEAN": "BOOLEAN",
                "UTC_DATETIME": "TIMESTAMP WITH TIME ZONE", "JSON": "JSON"}


def assert_schema_types_landed(project):
    """Every declared column exists in DuckDB with the type schema() declared."""
    import duckdb

    con = duckdb.connect(str(project / "files" / "warehouse.db"), read_only=True)
    try:
        for table in connector.schema({}):
            landed = dict(con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'tester' AND table_name = ?", [table["table"]]).fetchall())
            for column, declared in table["columns"].items():
                expected = (f"DECIMAL({declared['precision']},{declared['scale']})"
                            if isinstance(declared, dict) else DUCKDB_TYPES[declared])
                assert landed.get(column) == expected, (table["table"], column, landed.get(column))
    finally:
        con.close()


def _assert_equal_to_source(sim, project):
    for table in COLLECTIONS:
        assert differences(sim.truth(table), warehouse(project, table), table) == []


def test_a_full_then_incremental_sync_leaves_the_warehouse_equal_to_the_source(tmp_path):
    # 5,000 records a stream: enough for windows split across eight slots and every value shape.
    with SimulatorThread(SimConfig(records=5_000, burst_limit=None, hourly_limit=None)) as sim:
        project = make_project(tmp_path)
        first = run_debug(project, _config(sim))
        assert first.returncode == 0, first.output[-3000:]
        _assert_equal_to_source(sim, project)
        assert all(saved_state(project)["streams"][t]["cursor"] for t in COLLECTIONS)
        assert_schema_types_landed(project)
        # Real shapes (every documented enum value, references into another account, custom fields
        # of every JSON kind) give no warning at all: a warning always means something.
        assert "WARNING" not in first.output, [line for line in first.output.splitlines() if "WARNING" in line][:5]

        changed = list(sim.truth("projects"))[:25]
        sim.touch("projects", changed)
        sim.reset_stats()
        second = run_debug(project, _config(sim))
        assert second.returncode == 0, second.output[-3000:]
        _assert_equal_to_source(sim, project)
        # The incremental sync read one page per stream, not the account, and one per removal feed.
        assert sim.stats.requests == len(COLLECTIONS) + 2


def _records_left(sim, state) -> tuple[int, int]:
    """Records a resumed sync still has to read (those in the gaps of each open pass, or the
    whole stream when it has no state yet), and the number of gaps."""
    left = holes_total = 0
    streams = state.get("streams", {})
    for table in COLLECTIONS:
        stream = streams.get(table)
        times = [int(parse_timestamp(r["updated_at"]).timestamp()) for r in sim.truth(table).values()]
        if not stream or (stream.get("cursor") is None and not stream.get("pass")):
            left += len(times)
            continue
        if not stream.get("pass"):
            continue
        p = stream["pass"]
        holes = gaps(from_iso(p["lower"]), from_iso(p["upper"]), [(from_iso(a), from_iso(b)) for a, b in p["done"]])
        left += sum(1 for t in times if any(a <= t < b for a, b in holes))
        holes_total += len(holes)
    return left, holes_total


RANDOM_KILL_RECORDS = 1_500  # a stream: 15 pages, windows split across slots, in a few seconds


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_killed_at_random_moments_a_rerun_ends_equal_to_the_source(tmp_path, seed):
    rng = random.Random(seed)
    config = SimConfig(records=RANDOM_KILL_RECORDS, burst_limit=None, hourly_limit=None, latency=0.01, seed=seed)
    with SimulatorThread(config) as sim:
        project = make_project(tmp_path)
        # The moment is a count, not a delay: one stream (another per seed) is held from a random one
        # of its 15 pages on, so the run cannot end; the kill comes once a checkpoint saved progress.
        # A held request must not time out before that: the longest timeout allowed.
        held, page = COLLECTIONS[seed % len(COLLECTIONS)], rng.randint(1, 12)
        with sim.hold_after(page, held) as hold:
            killed = run_debug(project, _config(sim, max_concurrency="4", request_timeout_seconds="300"),
                               kill_when=held_and_saved(hold))
        assert killed.killed and killed.returncode == -signal.SIGKILL, killed.output[-2000:]
        left, holes = _records_left(sim, saved_state(project))
        print(f"seed {seed}: {held} held from its page {page} ({hold.held} request(s) waiting); SIGKILL "
              f"{killed.killed_at:.1f} s in, {killed.output.count('checkpoint recorded')} checkpoint(s); "
              f"{left} records in {holes} open window(s) left")
        assert left < 3 * RANDOM_KILL_RECORDS  # the kill came after some progress was saved
        sim.reset_stats()
        final = run_debug(project, _config(sim))
        assert final.returncode == 0, final.output[-3000:]
        _assert_equal_to_source(sim, project)
        # The rerun re-read the windows that were open, not the account: at most one page more per
        # open window (the page that sizes it), per stream, and per window split for an idle slot
        # (the page that crosses the split is cut there, after it was served).
        splits = int(re.search(r"(\d+) window\(s\) split for idle slots", final.output).group(1))
        assert sim.stats.records_served <= left + 100 * (holes + 3 + splits), (sim.stats.records_served, left, splits)
