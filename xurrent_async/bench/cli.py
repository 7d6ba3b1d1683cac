"""`python -m xurrent_async.bench`: the command line (see the package's docstring)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from .report import code_digest, code_version, format_table, load_average, to_json
from .runner import Scenario, run_scenarios
from .scenarios import SCENARIOS


def main(argv: Sequence[str] | None = None, scenarios: Sequence[Scenario] = SCENARIOS) -> int:
    by_name = {s.name: s for s in scenarios}
    parser = argparse.ArgumentParser(prog="python -m xurrent_async.bench",
                                     description="How fast the connector is, against what bounds it.")
    parser.add_argument("--quick", action="store_true", help="reduced sizes: under a minute in all")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--only", action="append", choices=list(by_name), metavar="NAME",
                        help=f"run only this scenario (repeatable): {', '.join(by_name)}")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (worker logs, warehouses)")
    args = parser.parse_args(argv)

    chosen = [by_name[name] for name in args.only] if args.only else [s for s in scenarios if s.default]
    workdir = Path(tempfile.mkdtemp(prefix="xurrent-bench-"))
    load_before = load_average()
    started = time.perf_counter()
    try:
        rows = run_scenarios(chosen, quick=args.quick, workdir=workdir,
                             progress=lambda text: print(text, file=sys.stderr, flush=True))
    finally:
        if args.keep:
            print(f"work directory kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    seconds = time.perf_counter() - started
    load = (load_before, load_average())
    print(format_table(rows))
    loads = " → ".join("?" if x is None else f"{x:.1f}" for x in load)
    print(f"\n{'quick' if args.quick else 'full'} run: {seconds:.0f} s on {os.cpu_count()} CPU(s) "
          f"(load average {loads}), Python {sys.version.split()[0]}, code {code_version()} "
          f"(sources {code_digest()})")
    if args.quick:
        print("quick sizes are smoke-test sizes: fixed costs (start-up, the first page of each stream, the "
              "last windows) weigh more than in a real sync; judge the targets on the full run")
    if args.json:
        args.json.write_text(json.dumps(to_json(rows, quick=args.quick, seconds=seconds, load=load), indent=2))
    missed = [r for r in rows if r.passed is False]
    return 1 if args.check and missed else 0
