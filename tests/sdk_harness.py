"""Runs the real connector through the SDK's local runner (`fivetran debug`) in a subprocess, in a
throw-away project directory, and reads back what landed in its DuckDB warehouse."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from xurrent_async.resources import BY_TABLE, RowMapper
from xurrent_async.staging import DEV_ONLY

REPO = Path(__file__).resolve().parent.parent
FIVETRAN = Path(sys.executable).parent / "fivetran"
RUNNER_ALLOWED = True  # tests/conftest.py: False while a test without the `slow` mark runs


def make_project(root: Path, *, copy_package: bool = False, tuning: dict[str, object] | None = None) -> Path:
    """A project dir with the connector in it, so each test has its own files/ (warehouse, state).

    The package is symlinked by default. With copy_package its runtime modules are copied, as in a
    deployment: the SDK's crash reports then show the package's frames and their local variables
    too (it skips frames whose resolved path lies outside the project). The simulator, benchmark
    and demo are left out: a sync never imports them, and the SDK's dependency scan of the
    project then takes half a second less per run. `tuning` (with copy_package) changes the
    copy's defaults, e.g. a faster checkpoint cadence, as run_sync's `tuning=` does in-process."""
    project = root / "project"
    project.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "connector.py", project / "connector.py")
    shutil.copy(REPO / "requirements.txt", project / "requirements.txt")
    package = project / "xurrent_async"
    assert copy_package or not tuning, "tuning changes a copy of the package"
    if copy_package:
        if not package.exists():
            shutil.copytree(REPO / "xurrent_async", package,
                            ignore=shutil.ignore_patterns("__pycache__", *DEV_ONLY))
            if tuning:
                retune(project, tuning)
    elif not package.exists():
        package.symlink_to(REPO / "xurrent_async", target_is_directory=True)
    return project


def retune(project: Path, tuning: dict[str, object]) -> None:
    """Change the defaults of a copied package's tuning (make_project(copy_package=True)) for the
    runs from now on, e.g. `clock_offset_seconds` to age the warehouse by days between two runs."""
    path = project / "xurrent_async" / "tuning.py"
    assert path.exists() and not path.is_symlink(), "tuning changes a copy of the package"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"\nDEFAULT_TUNING = Tuning(**{tuning!r})  # set by the test harness\n")


def sdk_env(root: Path) -> dict[str, str]:
    """No telemetry, and no version check against PyPI (this machine is offline)."""
    home = root / "home"
    (home / ".fivetran" / "connector_sdk").mkdir(parents=True, exist_ok=True)
    (home / ".fivetran" / "connector_sdk_core").mkdir(parents=True, exist_ok=True)
    (home / ".fivetran" / "connector_sdk" / "_last_version_check").write_text("9999999999")
    (home / ".fivetran" / "connector_sdk_core" / "_config.json").write_text(
        json.dumps({"lastVersionCheck": 9999999999, "licenseNoticeShown": True}))
    env = dict(os.environ)
    env.update(HOME=str(home), DO_NOT_TRACK="1", PYTHONUNBUFFERED="1",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    return env


@dataclass
class Run:
    returncode: int
    output: str
    seconds: float
    # Every output line with the seconds since the start at which the harness read it.
    stamped: list[tuple[float, str]] = field(default_factory=list)
    killed: bool = False  # the harness sent kill_signal
    killed_at: float | None = None  # seconds since the start at which it did

    def first(self, text: str) -> float | None:
        """Seconds since the start at which the first line containing `text` was read, or None."""
        return next((at for at, line in self.stamped if text in line), None)


CHECKPOINT = "checkpoint recorded: "  # the SDK's line for each checkpoint, followed by the state's JSON


def checkpoint_states(lines: list[str]) -> list[dict[str, Any]]:
    """The state of every checkpoint the SDK reported in `lines`, in order (it writes state.json
    before it prints the line)."""
    states = []
    for line in lines:
        at = line.find(CHECKPOINT)
        if at >= 0:
            with contextlib.suppress(ValueError):  # a line cut short is not a state
                states.append(json.loads(line[at + len(CHECKPOINT):]))
    return states


def saved_progress(state: dict[str, Any], since: dict[str, Any] | None = None) -> bool:
    """Whether `state` records delivered work that `since` (the state the run started from) did
    not: a finished window of an open pass, or a cursor that moved."""
    before = (since or {}).get("streams") or {}
    for name, stream in (state.get("streams") or {}).items():
        if (stream.get("pass") or {}).get("done"):
            return True
        if stream.get("cursor") and stream.get("cursor") != (before.get(name) or {}).get("cursor"):
            return True
    return False


def held_and_saved(hold: Any, since: dict[str, Any] | None = None) -> Callable[[list[str]], bool]:
    """A `kill_when` for a run the simulator holds (`sim.hold_after`): true once a request of the
    run is held, so the run cannot end before the signal, and a checkpoint line has reported
    progress beyond `since`."""
    return lambda lines: hold.holding.is_set() and any(saved_progress(s, since) for s in checkpoint_states(lines))


def any_line(predicate: Callable[[str], bool]) -> Callable[[list[str]], bool]:
    """A `kill_when` that is true once any output line satisfies `predicate` (each line is looked
    at once, as it comes)."""
    looked = [0]
    found = [False]

    def when(lines: list[str]) -> bool:
        if not found[0]:
            found[0] = any(predicate(line) for line in lines[looked[0]:])
            looked[0] = len(lines)
        return found[0]

    return when


def run_debug(project: Path, configuration: dict[str, str], *, timeout: float = 300,
              kill_when: Callable[[list[str]], bool] | None = None, kill_signal: int = signal.SIGKILL,
              on_poll: Callable[[list[str]], None] | None = None, naming: str = "SOURCE") -> Run:
    """`fivetran debug` on the project. At every poll (every 20 ms, from this thread), with the
    output lines read so far: `on_poll`, if given, is called, e.g. to flip a simulator switch once
    the sync reached some point; `kill_when`, if given, is asked whether the moment has come to
    send kill_signal, as a crash or an operator would. Tests make such moments events they observe
    (a checkpoint line, a simulator hold that keeps the sync from ending), never a delay.

    `naming` is the runner's `--naming`. SOURCE by default: the FIVETRAN naming a user's run gets
    renames every cell of every row, three quarters of the runner's CPU, and leaves every name of
    this connector as it is (test_resources proves it), so the warehouse is the same. The tests of
    what a user runs (the staged package, the demo) keep FIVETRAN. A project keeps the naming of
    its first run."""
    assert RUNNER_ALLOWED, "a test that starts the SDK runner must be marked slow (`make check` leaves those out)"
    (project / "configuration.json").write_text(json.dumps(configuration))
    env = sdk_env(project.parent)
    started = time.monotonic()
    process = subprocess.Popen(
        [str(FIVETRAN), "debug", str(project), "--configuration", "configuration.json", "--naming", naming],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    stamped: list[tuple[float, str]] = []

    def read() -> None:
        for line in iter(process.stdout.readline, ""):  # type: ignore[union-attr]
            stamped.append((time.monotonic() - started, line))
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    killed = False
    killed_at: float | None = None
    try:
        while process.poll() is None:
            seen = len(lines)
            if on_poll is not None:
                on_poll(lines[:seen])
            if not killed and kill_when is not None and kill_when(lines[:seen]):
                process.send_signal(kill_signal)
                killed, killed_at = True, time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"fivetran debug did not finish within {timeout} s:\n{''.join(lines)[-3000:]}")
            time.sleep(0.02)
    except BaseException:  # a timeout, or a failing on_poll: never leave the process behind
        process.kill()
        process.wait()
        raise
    seconds = time.monotonic() - started
    reader.join(10)
    if on_poll is not None:
        on_poll(lines[:])
    return Run(process.returncode, "".join(lines), seconds, list(stamped), killed, killed_at)


def saved_state(project: Path) -> dict[str, Any]:
    path = project / "files" / "state.json"
    return json.loads(path.read_text()) if path.exists() else {}


def warehouse(project: Path, table: str) -> dict[int, dict[str, Any]]:
    import duckdb

    path = project / "files" / "warehouse.db"
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        cursor = con.execute(f"SELECT * FROM tester.{table}")
        names = [d[0] for d in cursor.description]
        return {row[names.index("id")]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    finally:
        con.close()


def _normal(value: Any, expected: Any = None) -> Any:
    """A value as it compares: UTC datetimes, normalized decimals, and JSON columns (DuckDB returns
    them as text) parsed, so `custom_fields` compares as JSON."""
    if isinstance(expected, (dict, list)) and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=timezone.utc)
    if isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, str):
        try:
            return Decimal(value).normalize() if value.replace(".", "", 1).lstrip("-").isdigit() else value
        except ArithmeticError:
            return value
    return value


def differences(truth: dict[int, dict[str, Any]], landed: dict[int, dict[str, Any]], table: str) -> list[str]:
    """How the warehouse differs from the source: missing ids, extra ids, and differing values. A
    soft-deleted row (`_fivetran_deleted`) is not live: it counts as absent."""
    landed = {k: row for k, row in landed.items() if not row.get("_fivetran_deleted")}
    mapper = RowMapper(BY_TABLE[table])
    problems: list[str] = []
    missing = sorted(set(truth) - set(landed))
    extra = sorted(set(landed) - set(truth))
    if missing:
        problems.append(f"{table}: {len(missing)} missing, e.g. {missing[:5]}")
    if extra:
        problems.append(f"{table}: {len(extra)} unexpected, e.g. {extra[:5]}")
    for record_id, record in truth.items():
        row = landed.get(record_id)
        if row is None:
            continue
        expected = mapper.map(record, [])
        for column, value in expected.items():
            if _normal(row.get(column), value) != _normal(value):
                problems.append(f"{table} id {record_id}: {column} is {row.get(column)!r}, expected {value!r}")
                break
        if len(problems) > 20:
            break
    return problems
