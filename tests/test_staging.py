"""What ships is what runs: `make package` stages connector.py, requirements.txt and the runtime
modules, and nothing dev-only; the connector imports from the stage alone, and a sync run from it
through the SDK's runner completes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.reliability.helpers import CLIENT_SECRET, TOKEN, configuration, sim_config
from tests.reliability.sdk_checks import equal_to_source
from tests.sdk_harness import REPO, run_debug
from xurrent_async.simulator import SimulatorThread
from xurrent_async.staging import DEV_ONLY, stage

# Every module of the package, sub-packages too (config/), except the dev-only files and folders.
_PACKAGE = REPO / "xurrent_async"
RUNTIME = sorted(str(path) for path in (p.relative_to(_PACKAGE) for p in _PACKAGE.rglob("*.py"))
                 if not {"__pycache__", *DEV_ONLY} & set(path.parts))


def test_the_stage_holds_the_runtime_modules_and_nothing_dev_only(tmp_path):
    files = {str(f) for f in stage(tmp_path / "deploy")}
    assert files == {"connector.py", "requirements.txt", *(f"xurrent_async/{name}" for name in RUNTIME)}
    assert not any(part in ("simulator", "bench", "tests") for f in files for part in f.split("/"))
    assert not any(f.endswith(".json") for f in files)  # no configuration: the deploy takes it as a flag
    for f in files:
        text = (tmp_path / "deploy" / f).read_text(encoding="utf-8")
        assert TOKEN not in text and CLIENT_SECRET not in text


def test_the_connector_imports_from_the_stage_alone(tmp_path):
    target = tmp_path / "deploy"
    stage(target)
    probe = ("import connector, xurrent_async, sys; "
             "assert xurrent_async.__file__.startswith(sys.argv[1]), xurrent_async.__file__; "
             "assert not any(m.startswith(('xurrent_async.simulator', 'xurrent_async.bench', 'tests')) "
             "for m in sys.modules), sorted(sys.modules); "
             "print(len(connector.schema({})))")
    done = subprocess.run([sys.executable, "-c", probe, str(target)], cwd=target, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "DO_NOT_TRACK": "1"}, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3"


@pytest.mark.slow
def test_a_sync_run_from_the_stage_completes(tmp_path):
    target = tmp_path / "project"
    stage(target)
    with SimulatorThread(sim_config(records=500, seed=9)) as sim:
        run = run_debug(target, configuration(sim), timeout=180)
        assert run.returncode == 0, run.output[-3000:]
        problems, compared = equal_to_source(sim, target)
    assert problems == [] and compared == 1_500
