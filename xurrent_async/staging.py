"""`make package`: stage exactly what Fivetran runs in `build/deploy/`, for `make deploy`;
`make debug`: run that same stage locally.

`fivetran deploy` zips the folder it is given. Run on the repository, it would upload the simulator,
the benchmark, the demo and the tests, which production never imports. The stage holds
`connector.py`, `requirements.txt` and the runtime modules of `xurrent_async/`, nothing else; the
`DEV_ONLY` list below is the one place that says what stays behind (a test imports the connector
from a stage and runs a sync from it, so a runtime module left out would fail there).

Each staging replaces the stage. A local run (`--local`) writes its warehouse, state and crash
reports through links to the repository's own `files/` and `crash-reports/`, where `fivetran debug`
run from the repository writes them too: re-staging replaces the links, never what they point at.

    python -m xurrent_async.staging [build/deploy] [--local]
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "xurrent_async"
# Development tools inside the package: they import the runtime modules, never the reverse.
DEV_ONLY = ("simulator", "bench", "demo.py", "staging.py")
TOP_LEVEL = ("connector.py", "requirements.txt")
# What `fivetran debug` writes into the folder it runs in; the SDK's packaging leaves both out.
LOCAL_OUTPUT = ("files", "crash-reports")


def stage(target: Path) -> list[Path]:
    """Replace `target` with the upload; returns the staged files, relative to it."""
    if target.exists():
        shutil.rmtree(target)  # removes links inside, never follows them
    target.mkdir(parents=True)
    for name in TOP_LEVEL:
        shutil.copy2(REPO / name, target / name)
    shutil.copytree(REPO / PACKAGE, target / PACKAGE,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", *DEV_ONLY))
    return sorted(p.relative_to(target) for p in target.rglob("*") if p.is_file())


def link_local_output(target: Path, home: Path = REPO) -> None:
    """Point the stage's `files/` and `crash-reports/` at `home`'s (created if missing: the SDK
    cannot create a folder behind a dangling link)."""
    for name in LOCAL_OUTPUT:
        kept = home / name
        kept.mkdir(parents=True, exist_ok=True)
        (target / name).symlink_to(os.path.relpath(kept, target), target_is_directory=True)


def main(argv: list[str]) -> int:
    local = "--local" in argv
    paths = [arg for arg in argv if arg != "--local"]
    target = Path(paths[0]) if paths else REPO / "build" / "deploy"
    files = stage(target.resolve())
    print(f"staged {len(files)} files in {target}: " + ", ".join(str(f) for f in files))
    if local:
        link_local_output(target.resolve())
        print("the local run writes to " + " and ".join(f"{REPO / name}/" for name in LOCAL_OUTPUT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
