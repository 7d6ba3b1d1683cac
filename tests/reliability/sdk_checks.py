"""Checks shared by the suite's runs of `fivetran debug`: what a killed run's checkpoint claims is in
the warehouse, the warehouse equals the source, the process ends promptly, and no secret leaks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.reliability.helpers import CLIENT_SECRET, TOKEN, SecretScan, claimed_intervals, scan_project, updated_second
from tests.sdk_harness import Run, differences, saved_state, warehouse
from xurrent_async.simulator import COLLECTIONS

# Everything scanned by the SDK-runner tests of this session, for the report at the end.
SESSION_SCAN = SecretScan()
# A leftover thread keeps the process alive for as long as it runs (the bridge alone would wait 30 s
# for its worker); a process that ends on its own takes under a second here. 15 s tells them apart
# with room for a machine many times slower or busier.
PROMPT_EXIT_SECONDS = 15.0


def secrets_of(sim: Any) -> list[str]:
    """Our personal token and client secret, every OAuth access token the simulator handed out,
    and the literal `Bearer ` that would start a leaked Authorization header."""
    return [TOKEN, CLIENT_SECRET, "Bearer ", *sim.issued_tokens()]


def assert_no_secrets(project: Path, run: Run, sim: Any) -> SecretScan:
    scan = scan_project(SecretScan(), project, run.output, secrets_of(sim))
    SESSION_SCAN.texts += scan.texts
    SESSION_SCAN.files += scan.files
    SESSION_SCAN.varchar_values += scan.varchar_values
    SESSION_SCAN.leaks += scan.leaks
    assert not scan.leaks, "secret leaked: " + "; ".join(f"{leak.where}: …{leak.excerpt}…" for leak in scan.leaks)
    return scan


def assert_prompt_exit(run: Run, marker: str) -> float:
    """The process ended within a few seconds of the SDK's final line (no thread kept it alive)."""
    at = run.first(marker)
    assert at is not None, f"no {marker!r} line:\n{run.output[-3000:]}"
    lag = run.seconds - at
    assert lag < PROMPT_EXIT_SECONDS, f"the process ended {lag:.1f} s after {marker!r}"
    return lag


def equal_to_source(sim: Any, project: Path) -> tuple[list[str], int]:
    """Differences between the warehouse and the source, and the number of records compared."""
    problems: list[str] = []
    compared = 0
    for table in COLLECTIONS:
        truth = sim.truth(table)
        compared += len(truth)
        problems += differences(truth, warehouse(project, table), table)
    return problems, compared


def claims_delivered(sim: Any, project: Path) -> tuple[list[str], int]:
    """The "Nothing lost" invariant after a kill: every record whose updated_at lies in what the saved state claims
    (cursor, finished windows) is in the warehouse with its current values. The source must not
    have changed since the killed run started. Returns the problems and the records checked."""
    state = saved_state(project)
    problems: list[str] = []
    checked = 0
    for table in COLLECTIONS:
        stream = (state.get("streams") or {}).get(table)
        intervals = claimed_intervals(stream) if stream else []
        if not intervals:
            continue
        truth = sim.truth(table)
        due = {rid: r for rid, r in truth.items() if any(a <= updated_second(r) < b for a, b in intervals)}
        checked += len(due)
        if not due:
            continue
        if not (project / "files" / "warehouse.db").exists():
            problems.append(f"{table}: the state claims {len(due)} records but there is no warehouse")
            continue
        landed = warehouse(project, table)
        problems += differences(due, {rid: landed[rid] for rid in due if rid in landed}, table)
    return problems, checked
