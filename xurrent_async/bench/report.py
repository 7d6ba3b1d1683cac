"""The bench's output: the table, and the JSON document with what was measured and where."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from .results import Row
from .runner import REPO
from .sizes import FULL, QUICK


def _number(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def format_table(rows: Sequence[Row]) -> str:
    header = ("scenario", "side", "records", "requests", "seconds", "records/s", "ratio", "target", "pass")
    lines = [[r.scenario, r.side, f"{r.records:,}" if r.records else "",
              "" if r.requests is None else f"{r.requests:,}", _number(r.seconds) if r.seconds else "",
              _number(r.records_per_second, 0) if r.seconds else "", _number(r.ratio), r.target,
              "quick size" if r.quick_miss else "" if r.passed is None else ("yes" if r.passed else "NO")]
             for r in rows]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    right = {2, 3, 4, 5, 6}

    def fmt(cells: Sequence[str]) -> str:
        padded = (c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        return "  ".join(padded).rstrip()

    out = [fmt(header), fmt(["-" * w for w in widths])]
    out += [fmt(line) for line in lines]
    notes = [f"  {r.scenario} / {r.side}: {r.note}" for r in rows if r.note]
    return "\n".join(out + (["", "notes:", *notes] if notes else []))


def code_version() -> str:
    """Which code was measured (read-only git query; "unknown" outside a checkout)."""
    try:
        done = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True,
                              text=True, timeout=10, check=False)
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def load_average() -> float | None:
    """The 1-minute load average: other work on the machine slows every figure down."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def code_digest() -> str:
    """A digest of the code under test (the package and connector.py, not the bench): with
    uncommitted changes around, the commit alone does not say what was measured."""
    digest = hashlib.sha256()
    for path in sorted([REPO / "connector.py", *REPO.glob("xurrent_async/**/*.py")]):
        if path.relative_to(REPO).parts[:2] != ("xurrent_async", "bench") and path.is_file():
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def to_json(rows: Sequence[Row], *, quick: bool, seconds: float,
            load: tuple[float | None, float | None] = (None, None)) -> dict[str, Any]:
    return {
        "mode": "quick" if quick else "full",
        "load_average": {"before": load[0], "after": load[1]},
        "code": code_version(),
        "code_digest": code_digest(),
        "sizes": asdict(QUICK if quick else FULL),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "seconds": seconds,
        "rows": [{**asdict(r), "records_per_second": r.records_per_second} for r in rows],
        "passed": all(r.passed is not False for r in rows),
    }
