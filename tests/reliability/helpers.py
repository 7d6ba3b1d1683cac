"""Shared pieces of the reliability suite: bounded calls, source/sink comparison, checkpoint claims,
and secret scanning of everything a sync leaves behind."""

from __future__ import annotations

import dataclasses
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FAST as RETRY_FAST
from tests.conftest import SIM_ACCOUNT, unlimited
from tests.conftest import configuration as shared_configuration
from tests.fakes import RecordingSink
from tests.sdk_harness import differences, saved_progress
from xurrent_async.resources import parse_timestamp
from xurrent_async.settings import Settings, parse_settings
from xurrent_async.simulator import COLLECTIONS, SimConfig
from xurrent_async.state import Interval, from_iso, gaps, merge, to_iso

# Distinctive credentials: if any of them shows up in an output, it was leaked, not coincidence.
TOKEN = "xpat-Rel1ab1l1ty-7c3e9f41d2b8a605"
CLIENT_ID = "reliability-client"
CLIENT_SECRET = "xcs-Sup3rS3cret-4b1d9e0c7a2f8356"
ACCOUNT = SIM_ACCOUNT
FAST = dataclasses.replace(RETRY_FAST, checkpoint_seconds=0.2)
# For a switch flipped mid-sync (FlipSink): checkpoints by rows only (every page of 100), so where
# they fall among the events is the same on any machine, and a queue of two pages, so that with two
# requests in flight the extraction is never more than a few pages ahead of the sink.
STEPPED = dataclasses.replace(RETRY_FAST, checkpoint_rows=100, checkpoint_seconds=3600.0, queue_pages=2)


def sim_config(**kwargs: Any) -> SimConfig:
    """No rate limits unless asked (the governor has its own tests), our distinctive credentials."""
    return unlimited(**{"tokens": (TOKEN,), "oauth_clients": {CLIENT_ID: CLIENT_SECRET}, **kwargs})


def configuration(sim: Any, *, oauth: bool = False, **extra: str) -> dict[str, str]:
    return shared_configuration(sim, token=TOKEN, oauth_client=(CLIENT_ID, CLIENT_SECRET) if oauth else None,
                                **extra)


def settings_for(sim: Any, *, oauth: bool = False, **extra: str) -> Settings:
    return parse_settings(configuration(sim, oauth=oauth, **extra))[0]


class FlipSink(RecordingSink):
    """Calls `flip` once, at the first checkpoint that claims a finished window or pass: a switch
    (a fault, say) that starts in the middle of a sync, at a moment chosen by events, not time.
    With STEPPED tuning and max_concurrency 2, the simulator has then served at most the pages the
    sink took plus a few (backpressure), so the rest of the sync is still to come."""

    def __init__(self, flip: Callable[[], None]):
        super().__init__()
        self._flip = flip
        self.flipped_at: tuple[int, int] | None = None  # (checkpoints, rows upserted) at the flip

    def checkpoint(self, state: dict[str, Any]) -> None:
        super().checkpoint(state)
        if self.flipped_at is None and saved_progress(state):
            self.flipped_at = (len(self.checkpoints), sum(kind == "upsert" for kind, _, _ in self.ops))
            self._flip()


# -- bounded calls ---------------------------------------------------------------------------------
_HUNG: set[threading.Thread] = set()  # extraction threads of calls that already failed as hangs


@dataclass
class Outcome:
    value: Any
    error: BaseException | None
    seconds: float


def call_within(seconds: float, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Outcome:
    """Call fn in a daemon thread and wait at most `seconds`: a hang fails the test instead of
    hanging the suite (the thread is left behind as a daemon). Exceptions are returned, not raised."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=target, name="reliability-call", daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(seconds)
    elapsed = time.monotonic() - started
    if thread.is_alive():
        _HUNG.update(extract_threads())  # failed here; later tests need not fail for them again
        pytest.fail(f"{getattr(fn, '__name__', fn)} did not return within {seconds:g} s: a hang")
    return Outcome(box.get("value"), box.get("error"), elapsed)


def extract_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "xurrent-extract" and t.is_alive()]


def assert_no_worker_left() -> None:
    """run_sync joins its extraction thread before it returns or raises (invariant: no hang)."""
    left = [t for t in extract_threads() if t not in _HUNG]
    assert not left, f"extraction thread(s) still alive after run_sync returned: {left}"


# -- source versus destination ---------------------------------------------------------------------
def updated_second(record: dict[str, Any]) -> int:
    return int(parse_timestamp(record["updated_at"]).timestamp())


def sink_differences(truth: dict[str, dict[int, dict[str, Any]]], sink: RecordingSink,
                     tables: Iterable[str] = COLLECTIONS) -> list[str]:
    """Missing, unexpected and differing rows (every value, as RowMapper maps the source): the
    warehouse comparison of the SDK harness, applied to the recording sink."""
    return [problem for table in tables for problem in differences(truth[table], sink.rows.get(table, {}), table)]


def truths(sim: Any, tables: Iterable[str] = COLLECTIONS) -> dict[str, dict[int, dict[str, Any]]]:
    return {table: sim.truth(table) for table in tables}


def claimed_intervals(stream: dict[str, Any]) -> list[tuple[int, int]]:
    """What one stream's checkpointed state says has been delivered: [0, cursor) and the open
    pass's finished windows."""
    intervals = [(0, from_iso(stream["cursor"]))] if stream.get("cursor") else []
    if stream.get("pass"):
        intervals += [(from_iso(a), from_iso(b)) for a, b in stream["pass"]["done"]]
    return intervals


def early_claims(ops: list[tuple[str, Any, Any]], seconds: dict[str, dict[int, int]]) -> tuple[list[str], int]:
    """Walks a RecordingSink's operations in order: every record whose updated_at second lies in a
    checkpoint's claimed intervals must have been upserted before that checkpoint (the invariants
    "Nothing lost" and "Checkpoints in order").
    `seconds`: table -> id -> updated_at second of the (unchanging) source. Returns the violations
    and the number of claims checked. A part of the timeline once verified stays verified (upserts
    only accumulate), so each second is checked once: linear in the data, not in the checkpoints."""
    by_second = {t: sorted((s, rid) for rid, s in ids.items()) for t, ids in seconds.items()}
    upserted: dict[str, set[int]] = {t: set() for t in seconds}
    verified: dict[str, list[Interval]] = {t: [] for t in seconds}
    problems: list[str] = []
    claims = 0
    for kind, table, payload in ops:
        if kind == "upsert":
            upserted.setdefault(table, set()).add(payload["id"])
            continue
        if kind != "checkpoint":
            continue
        for name, stream in payload.get("streams", {}).items():
            timeline = by_second.get(name, [])
            for a, b in claimed_intervals(stream):
                claims += 1
                for lo, hi in gaps(a, b, verified.get(name, [])):
                    due = timeline[bisect_left(timeline, (lo, -1)):bisect_left(timeline, (hi, -1))]
                    early = [rid for _, rid in due if rid not in upserted.get(name, set())]
                    if early:
                        problems.append(f"{name} [{to_iso(lo)}, {to_iso(hi)}) claimed before {len(early)} of its "
                                        f"records were upserted, e.g. {sorted(early)[:5]}")
                verified[name] = merge(verified.get(name, []), (a, b))
    return problems, claims


def left_to_read(state: dict[str, Any], seconds: dict[str, dict[int, int]]) -> tuple[int, int]:
    """What a sync resumed from `state` still has to read: the records outside every claimed
    interval (a stream without state: all of it), and the number of open windows (gaps)."""
    records = holes = 0
    for table, ids in seconds.items():
        stream = state.get("streams", {}).get(table) or {}
        if stream.get("pass"):
            p = stream["pass"]
            open_windows = gaps(from_iso(p["lower"]), from_iso(p["upper"]),
                                [(from_iso(a), from_iso(b)) for a, b in p["done"]])
            holes += len(open_windows)
        claimed = claimed_intervals(stream)
        records += sum(1 for second in ids.values() if not any(a <= second < b for a, b in claimed))
    return records, holes


# -- secrets ---------------------------------------------------------------------------------------
@dataclass
class Leak:
    where: str
    secret: str
    excerpt: str


@dataclass
class SecretScan:
    """What was scanned, for the report, and what leaked."""

    leaks: list[Leak] = field(default_factory=list)
    texts: int = 0
    files: int = 0
    varchar_values: int = 0


def _excerpt(text: str, secret: str) -> str:
    at = text.find(secret)
    return text[max(0, at - 80): at + len(secret) + 40].replace("\n", "⏎")


def scan_text(scan: SecretScan, where: str, text: str, secrets: Iterable[str]) -> None:
    scan.texts += 1
    for secret in secrets:
        if secret and secret in text:
            scan.leaks.append(Leak(where, secret, _excerpt(text, secret)))


def warehouse_varchars(project: Path) -> list[tuple[str, str]]:
    """(table.column, value) of every non-null VARCHAR value of every table in the warehouse."""
    import duckdb

    path = project / "files" / "warehouse.db"
    if not path.exists():
        return []
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR'").fetchall()
        values: list[tuple[str, str]] = []
        for schema, table, column in columns:
            rows = con.execute(f'SELECT "{column}" FROM "{schema}"."{table}" WHERE "{column}" IS NOT NULL').fetchall()
            values.extend((f"{schema}.{table}.{column}", row[0]) for row in rows)
        return values
    finally:
        con.close()


def scan_project(scan: SecretScan, project: Path, output: str, secrets: Iterable[str]) -> SecretScan:
    """Scans a `fivetran debug` run: its stdout/stderr, every file it wrote under the project
    (files/: state.json and the warehouse's raw bytes; crash-reports/; anything else new) and
    under the HOME the harness gave it, and every VARCHAR value in the warehouse.
    configuration.json (which holds the secrets by design) and the connector's own sources are
    skipped."""
    secrets = [s for s in secrets if s]
    scan_text(scan, "stdout/stderr", output, secrets)
    home = project.parent / "home"
    paths = sorted(project.rglob("*")) + (sorted(home.rglob("*")) if home.is_dir() else [])
    for path in paths:
        base = home if path.is_relative_to(home) else project
        relative = path.relative_to(base)
        if not path.is_file() or (base == project and relative.parts[0] in ("xurrent_async", "__pycache__")):
            continue
        if base == project and relative.name in ("configuration.json", "connector.py", "requirements.txt"):
            continue
        scan.files += 1
        where = f"~/{relative}" if base == home else str(relative)
        scan_text(scan, where, path.read_bytes().decode("utf-8", "replace"), secrets)
    for where, value in warehouse_varchars(project):
        scan.varchar_values += 1
        for secret in secrets:
            if secret in value:
                scan.leaks.append(Leak(f"warehouse {where}", secret, _excerpt(value, secret)))
    return scan
