"""Running scenarios: the Bench (a run's sizes, work directory and worker processes, and what
its scenarios share), the Scenario declaration, and run_scenarios."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .results import BenchError, Row
from .sizes import FULL, QUICK, Sizes

REPO = Path(__file__).resolve().parents[2]
WORKER_TIMEOUT = 900.0
T = TypeVar("T")


@dataclass
class Bench:
    """One run of the bench: its sizes and work directory; starts the workers."""

    sizes: Sizes
    workdir: Path
    quick: bool = False
    _runs: int = 0
    _shared: dict[Hashable, Any] = field(default_factory=dict)

    @functools.cached_property
    def home(self) -> Path:
        """A HOME in which the SDK finds its version check done and its notice shown (offline)."""
        home = self.workdir / "home"
        for name, text in ((".fivetran/connector_sdk/_last_version_check", "9999999999"),
                           (".fivetran/connector_sdk_core/_config.json",
                            json.dumps({"lastVersionCheck": 9999999999, "licenseNoticeShown": True}))):
            path = home / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return home

    def worker(self, job: str, **spec: Any) -> dict[str, Any]:
        self._runs += 1
        out = self.workdir / f"{self._runs:03d}-{job}.json"
        log = out.with_suffix(".log")
        env = dict(os.environ, PYTHONPATH=str(REPO), DO_NOT_TRACK="1", PYTHONUNBUFFERED="1",
                   HOME=str(self.home))
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # the SDK runs pipreqs by name
        command = [sys.executable, "-m", "xurrent_async.bench.worker",
                   json.dumps({"job": job, "out": str(out), **spec})]
        cpu, wall = time.process_time(), time.perf_counter()  # this process's CPU is the simulator's
        with log.open("w", encoding="utf-8") as handle:
            done = subprocess.run(command, cwd=self.workdir, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                  timeout=WORKER_TIMEOUT, check=False)
        if done.returncode != 0 or not out.exists():
            tail = log.read_text(encoding="utf-8", errors="replace")[-2500:]
            raise BenchError(f"worker {job!r} exited with {done.returncode}:\n{tail}")
        return {**json.loads(out.read_text()), "sim_cpu_seconds": time.process_time() - cpu,
                "wall_seconds": time.perf_counter() - wall}

    def once(self, key: Hashable, make: Callable[[], T]) -> T:
        """What several scenarios of this run share (e.g. the original example's run on one data
        set), made by the first that asks."""
        if key not in self._shared:
            self._shared[key] = make()
        return self._shared[key]


@dataclass(frozen=True)
class Scenario:
    """A scenario: `run(bench, **params)` measures and returns its rows."""

    name: str
    summary: str
    run: Callable[..., list[Row]]
    params: Mapping[str, Any] = field(default_factory=dict)
    quick: bool = True  # part of --quick
    default: bool = True  # part of a run without --only
    # False: its targets are full-size targets that quick sizes cannot meet (fixed costs such as
    # start-up and the first and last pages weigh more); a quick run says so instead of "NO".
    quick_meets: bool = True


def run_scenarios(scenarios: Sequence[Scenario], *, quick: bool, workdir: Path,
                  progress: Callable[[str], None] = lambda text: None) -> list[Row]:
    """Each scenario in turn; one that fails gives an "error" row and the others still run."""
    bench = Bench(QUICK if quick else FULL, workdir, quick)
    rows: list[Row] = []
    for scenario in scenarios:
        name = scenario.name
        if quick and not scenario.quick:
            rows.append(Row(name, "skipped", 0, None, 0.0, note="full run only (too slow for --quick)"))
            continue
        progress(f"{name}: {scenario.summary} ...")
        started = time.perf_counter()
        try:
            produced = scenario.run(bench, **scenario.params)
            if quick and not scenario.quick_meets:
                for row in produced:
                    if row.passed is False and row.ratio is not None:
                        row.passed, row.quick_miss = None, True
                        row.note += ("; missed at quick sizes, which cannot meet this full-size target: it is "
                                     "judged on the full run")
            rows.extend(produced)
        except Exception as exc:  # one broken scenario must not hide the others' figures
            detail = traceback.format_exc() if not isinstance(exc, BenchError) else str(exc)
            progress(detail)
            rows.append(Row(name, "error", 0, None, 0.0, passed=False, note=f"{type(exc).__name__}: {exc}"[:300]))
        progress(f"{name}: done in {time.perf_counter() - started:.1f} s")
    return rows
