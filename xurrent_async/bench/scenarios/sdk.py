"""sdk: rows/s through the SDK's own local runner, the connector against a plain `op.upsert` loop
over the same rows (plain_connector.py); and the projects both run from (memory-sdk uses them too)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..results import BenchError, Row, Target, judged
from ..runner import REPO, Bench
from ..simulated import configuration, per_collection, served, sim_config
from ..sizes import COLLECTIONS

if TYPE_CHECKING:
    from xurrent_async.simulator import Simulator

PLAIN_CONNECTOR = Path(__file__).resolve().parent.parent / "plain_connector.py"


CHUNK_ROWS = 5_000


def sdk_project(bench: Bench, name: str) -> Path:
    project = bench.workdir / name
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    shutil.copy(REPO / "requirements.txt", project / "requirements.txt")
    return project


def plain_project(bench: Bench, name: str, sim: Simulator, *, preload: bool) -> Path:
    """A project whose connector upserts the simulator's records, mapped up front by the same
    RowMapper the connector uses: the same rows, tables and schema, and the same checkpoint cadence."""
    import pickle

    from xurrent_async.resources import RESOURCES, RowMapper
    from xurrent_async.tuning import DEFAULT_TUNING

    project = sdk_project(bench, name)
    with (project / "rows.pickle").open("wb") as handle:
        pickle.dump(([r.schema() for r in RESOURCES], DEFAULT_TUNING.checkpoint_rows, preload), handle)
        for resource in RESOURCES:
            mapper, problems = RowMapper(resource), []
            rows = [mapper.map(r, problems) for r in sim.truth(resource.table).values()]
            for i in range(0, len(rows), CHUNK_ROWS):
                pickle.dump((resource.table, rows[i:i + CHUNK_ROWS]), handle)
    shutil.copy(PLAIN_CONNECTOR, project / "connector.py")
    return project


def warehouse_rows(project: Path) -> int:
    import duckdb  # comes with the SDK (a dev dependency); the connector never needs it

    con = duckdb.connect(str(project / "files" / "warehouse.db"), read_only=True)
    try:
        return sum(con.execute(f"SELECT count(*) FROM tester.{t}").fetchone()[0] for t in COLLECTIONS)
    finally:
        con.close()


def run_through_sdk(bench: Bench, project: Path, configuration: dict[str, str], records: int) -> dict[str, Any]:
    """One `connector.debug()` of the project, from an empty warehouse, checked to land every row."""
    shutil.rmtree(project / "files", ignore_errors=True)
    result = bench.worker("sdk", project=str(project), configuration=configuration)
    landed = warehouse_rows(project)
    if landed != records:
        raise BenchError(f"{project.name}: {landed} rows in the warehouse, expected {records}")
    return result


def connector_project(bench: Bench, name: str) -> Path:
    project = sdk_project(bench, name)
    shutil.copy(REPO / "connector.py", project / "connector.py")
    return project


def vs_sdk(bench: Bench) -> list[Row]:
    """Through the SDK's local runner, API fast: the connector against a plain loop of upserts.

    Runs come in pairs, one of each side back to back (which goes first alternates), and the pair
    with the median ratio counts. On this machine the same plain loop takes 6.3 to 10.7 s from one
    process to the next; a single pair, or the best run of each side, would report that swing
    instead of the connector."""
    from xurrent_async.simulator import SimulatorThread

    records = per_collection(bench.sizes.sdk_records)
    total = sum(records.values())
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    with SimulatorThread(sim_config(records)) as sim:
        plain = plain_project(bench, "sdk-plain", sim, preload=True)
        project = connector_project(bench, "sdk-connector")

        def run_loop() -> dict[str, Any]:
            return run_through_sdk(bench, plain, {}, total)

        def run_connector() -> dict[str, Any]:
            sim.reset_stats()
            return {**run_through_sdk(bench, project, configuration(sim.base_url), total), "requests": served(sim)[0]}

        for i in range(bench.sizes.sdk_runs):
            # Which side goes first alternates, so that a drift in the machine's speed favours neither.
            if i % 2 == 0:
                loop = run_loop()
                connector = run_connector()
            else:
                connector = run_connector()
                loop = run_loop()
            pairs.append((loop, connector))
    ratios = [loop["seconds"] / connector["seconds"] for loop, connector in pairs]
    loop, connector = sorted(pairs, key=lambda p: p[0]["seconds"] / p[1]["seconds"])[len(pairs) // 2]
    runs = f"the median of {len(pairs)} back-to-back pairs" if len(pairs) > 1 else "one pair"
    loop_row = Row("sdk", "plain op.upsert loop", total, None, loop["seconds"],
                   extra={"all_seconds": [p[0]["seconds"] for p in pairs]})
    row = Row("sdk", "connector (fivetran debug)", total, connector["requests"], connector["seconds"],
              extra={"all_seconds": [p[1]["seconds"] for p in pairs], "pair_ratios": ratios})
    row.note = (f"rows/s connector ÷ rows/s plain loop, both via connector.debug() in a fresh process "
                f"(pipreqs skipped on both sides), {runs} (all: {', '.join(f'{r:.2f}' for r in ratios)}); "
                f"no latency, no limits")
    return [loop_row, judged(row, row.records_per_second / loop_row.records_per_second, Target(">=", 0.80))]
