"""`make demo`: a real sync of a simulated Xurrent account into a local DuckDB warehouse.

Starts the simulator in-process (tens of thousands of records, ~150 ms latency, the real burst
limit of 20 requests per 2 s scaled up), runs the connector through the SDK's own local runner
(`fivetran debug`) into .demo/files/warehouse.db, changes some records, runs an incremental sync,
and prints what each sync did. Nothing leaves this machine: the simulator listens on 127.0.0.1.

The demo runs in a project folder of its own, `.demo/` (the connector, and a link to this
package): the repository's files/ (your own warehouse and state) is never touched. Each demo
starts that folder's warehouse afresh; `.demo/` is ignored by git and never packaged.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from xurrent_async.simulator import COLLECTIONS, SimConfig, SimulatorThread

REPO = Path(__file__).resolve().parent.parent
DEMO_DIR = ".demo"  # under the repository; hidden, so the SDK never packages it
DEMO_RECORDS = {"organizations": 5_000, "products": 8_000, "projects": 7_000}
CHANGED_SHARE = 0.01  # of each collection, between the two syncs


@dataclass
class SyncFigures:
    seconds: float
    requests: dict[str, int]  # as counted by the simulator
    synced: dict[str, int]  # rows this sync upserted, from the connector's log
    rows: dict[str, int]  # rows in the warehouse afterwards


_DONE_LINE = re.compile(r"(\w+): done, ([\d,]+) rows")


def demo_configuration(base_url: str, burst_limit: int) -> dict[str, str]:
    return {
        "oauth_token": "sim-token",  # the simulator's demo token, not a real secret
        "account_id": "sim-account",
        "base_url": base_url,
        "burst_limit": str(burst_limit),
        "max_concurrency": "8",
    }


def prepare_demo_project(repo: Path) -> Path:
    """The demo's own project folder: this connector.py and requirements.txt, a link to the
    package, and a fresh files/ (the previous demo's warehouse and state are dropped)."""
    project = repo / DEMO_DIR
    project.mkdir(exist_ok=True)
    for name in ("connector.py", "requirements.txt"):
        shutil.copy(repo / name, project / name)
    package = project / "xurrent_async"
    if not package.exists():
        try:
            package.symlink_to((repo / "xurrent_async").resolve(), target_is_directory=True)
        except OSError:  # no symlinks here (some Windows set-ups): a copy does as well
            shutil.copytree(repo / "xurrent_async", package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.rmtree(project / "files", ignore_errors=True)
    return project


def run_fivetran_debug(
    project: Path, configuration: dict[str, str], env: dict[str, str]
) -> tuple[float, dict[str, int]]:
    files = project / "files"
    files.mkdir(exist_ok=True)
    # The simulator's demo token, not a secret; next to the demo's connector, not the user's.
    (project / "configuration.json").write_text(json.dumps(configuration, indent=2))
    fivetran = Path(sys.executable).parent / "fivetran"
    started = time.monotonic()
    result = subprocess.run(
        [str(fivetran), "debug", str(project), "--configuration", "configuration.json"],
        cwd=project, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    seconds = time.monotonic() - started
    log = files / "demo-sync.log"
    with log.open("a", encoding="utf-8") as handle:
        handle.write(result.stdout)
    if result.returncode != 0:
        print(result.stdout[-4000:])
        raise SystemExit(f"fivetran debug failed (exit {result.returncode}); full log in {log}")
    synced = {m.group(1): int(m.group(2).replace(",", "")) for m in _DONE_LINE.finditer(result.stdout)}
    return seconds, synced


def warehouse_counts(project: Path) -> dict[str, int]:
    import duckdb  # a dev dependency (it comes with the SDK); the connector itself never needs it

    con = duckdb.connect(str(project / "files" / "warehouse.db"), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM tester.{t}").fetchone()[0] for t in COLLECTIONS}
    finally:
        con.close()


def run_demo(repo: Path, env: dict[str, str], records: dict[str, int], *, latency: float = 0.15,
             burst_limit: int = 40, burst_seconds: float = 2.0) -> tuple[SyncFigures, SyncFigures]:
    """Both syncs of the demo, in `repo`'s demo folder."""
    project = prepare_demo_project(repo)
    config = SimConfig(records=records, latency=latency * 0.8, latency_jitter=latency * 0.4,
                       burst_limit=burst_limit, burst_seconds=burst_seconds, hourly_limit=None)
    with SimulatorThread(config) as sim:
        configuration = demo_configuration(sim.base_url, burst_limit)
        print(f"Simulated account: {sum(records.values()):,} records at {sim.base_url} "
              f"(~{latency * 1000:.0f} ms latency, {burst_limit} requests per {burst_seconds:g} s)")

        print("Sync 1 (full) ...", flush=True)
        seconds, synced = run_fivetran_debug(project, configuration, env)
        first = SyncFigures(seconds, dict(sim.stats.requests_by_collection), synced, warehouse_counts(project))

        for table in COLLECTIONS:
            ids = sim.ids(table)
            step = max(1, int(1 / CHANGED_SHARE))
            sim.touch(table, ids[::step])
        changed = {t: len(sim.ids(t)[:: max(1, int(1 / CHANGED_SHARE))]) for t in COLLECTIONS}
        print(f"Changed {sum(changed.values()):,} records in the simulator.")
        sim.reset_stats()

        print("Sync 2 (incremental) ...", flush=True)
        seconds, synced = run_fivetran_debug(project, configuration, env)
        second = SyncFigures(seconds, dict(sim.stats.requests_by_collection), synced, warehouse_counts(project))
    return first, second


def print_report(first: SyncFigures, second: SyncFigures) -> None:
    print()
    print(f"{'':<15}{'warehouse':>10} {'sync 1 (full)':>22} {'sync 2 (incremental)':>22}")
    print(f"{'stream':<15}{'rows':>10} {'rows':>10}{'requests':>12} {'rows':>10}{'requests':>12}")
    for table in COLLECTIONS:
        print(f"{table:<15}{second.rows[table]:>10,} {first.synced.get(table, 0):>10,}"
              f"{first.requests.get(table, 0):>12,} {second.synced.get(table, 0):>10,}"
              f"{second.requests.get(table, 0):>12,}")
    print(f"{'seconds':<15}{'':>10} {first.seconds:>22.1f} {second.seconds:>22.1f}")
    print("\n(seconds include the SDK runner's start-up; the connector's own log is in "
          f"{DEMO_DIR}/files/demo-sync.log)")
    print("Open the warehouse:  .venv/bin/python -c \"import duckdb; "
          f"print(duckdb.connect('{DEMO_DIR}/files/warehouse.db').sql('SELECT * FROM tester.projects LIMIT 5'))\"")
    print(f"The state after the last sync is in {DEMO_DIR}/files/state.json. The demo ran in {DEMO_DIR}/, "
          "its own folder: files/ (your own syncs) was left alone.")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the demo account's size")
    args = parser.parse_args(argv)
    records = {t: max(1, int(n * args.scale)) for t, n in DEMO_RECORDS.items()}
    env = dict(os.environ, DO_NOT_TRACK="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    first, second = run_demo(REPO, env, records)
    print_report(first, second)


if __name__ == "__main__":
    main()
