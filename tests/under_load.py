"""`make test` with every core kept busy: no test may depend on how fast the machine is.

Starts one CPU-bound process per core (or --hogs N), runs ruff and pytest (extra arguments go to
pytest) from the repository root, stops the busy processes, and prints the wall time. The exit code
is that of the checks.

    .venv/bin/python tests/under_load.py              # what `make test-under-load` runs
    .venv/bin/python tests/under_load.py --hogs 4 -x tests/reliability
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUSY = "while True: pass"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hogs", type=int, default=os.cpu_count() or 2,
                        help="CPU-bound processes to run meanwhile (default: one per core)")
    args, pytest_args = parser.parse_known_args(argv)
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "DO_NOT_TRACK": "1"}
    hogs = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(args.hogs)]
    started = time.monotonic()
    try:
        code = subprocess.call([str(bin_dir / "ruff"), "check", "."], cwd=REPO, env=env)
        if code == 0:
            code = subprocess.call([sys.executable, "-m", "pytest", *pytest_args], cwd=REPO, env=env)
    finally:
        for hog in hogs:
            hog.kill()
        for hog in hogs:
            hog.wait()
    print(f"under load ({args.hogs} busy processes): exit code {code} after {time.monotonic() - started:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
