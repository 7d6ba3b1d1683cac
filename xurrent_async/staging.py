"""`make package`: stage exactly what Fivetran runs in `build/deploy/`, for `make deploy`.

`fivetran deploy` zips the folder it is given. Run on the repository, it would upload the simulator,
the benchmark, the demo and the tests, which production never imports. The stage holds
`connector.py`, `requirements.txt` and the runtime modules of `xurrent_async/`, nothing else; the
`DEV_ONLY` list below is the one place that says what stays behind (a test imports the connector
from a stage and runs a sync from it, so a runtime module left out would fail there).

    python -m xurrent_async.staging [build/deploy]
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "xurrent_async"
# Development tools inside the package: they import the runtime modules, never the reverse.
DEV_ONLY = ("simulator", "bench", "demo.py", "staging.py")
TOP_LEVEL = ("connector.py", "requirements.txt")


def stage(target: Path) -> list[Path]:
    """Replace `target` with the upload; returns the staged files, relative to it."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in TOP_LEVEL:
        shutil.copy2(REPO / name, target / name)
    shutil.copytree(REPO / PACKAGE, target / PACKAGE,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", *DEV_ONLY))
    return sorted(p.relative_to(target) for p in target.rglob("*") if p.is_file())


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else REPO / "build" / "deploy"
    files = stage(target.resolve())
    print(f"staged {len(files)} files in {target}: " + ", ".join(str(f) for f in files))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
