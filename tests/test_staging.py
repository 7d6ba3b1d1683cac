"""What ships is what runs: `make package` stages connector.py, requirements.txt and the runtime
modules, and nothing dev-only; the connector imports from the stage alone, and a sync run from it
through the SDK's runner completes. `make debug` runs that stage: the SDK's dependency check finds
nothing to add to requirements.txt there, and re-staging leaves the local run's warehouse and state."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability.helpers import CLIENT_SECRET, TOKEN, configuration, sim_config
from tests.reliability.sdk_checks import equal_to_source
from tests.sdk_harness import REPO, run_debug
from xurrent_async.simulator import SimulatorThread
from xurrent_async.staging import DEV_ONLY, link_local_output, stage

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
        run = run_debug(target, configuration(sim), timeout=180, naming="FIVETRAN")  # as a user runs it
        assert run.returncode == 0, run.output[-3000:]
        problems, compared = equal_to_source(sim, target)
    assert problems == [] and compared == 1_500


def test_the_sdks_dependency_check_on_a_fresh_stage_suggests_nothing_beyond_requirements_txt(tmp_path, monkeypatch,
                                                                                              capfd):
    from fivetran_connector_sdk_cli.connector_helper import validate_requirements_file
    from fivetran_connector_sdk_common import __version__

    target = tmp_path / "deploy"
    stage(target)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")  # pipreqs
    validate_requirements_file(str(target), False, __version__)  # what `fivetran debug` runs before the sync
    log = capfd.readouterr()
    # Had pipreqs failed, the SDK would compare requirements.txt with itself and find nothing to say.
    assert "pipreqs" not in log.out + log.err, log
    assert "Include the following dependency libraries" not in log.out, log.out
    assert "dependencies are not needed" not in log.out, log.out
    assert (target / "requirements.txt").read_bytes() == (REPO / "requirements.txt").read_bytes()


def test_restaging_and_cleaning_leave_a_local_runs_warehouse_and_state_in_place(tmp_path):
    home = tmp_path / "repo"
    target = home / "build" / "deploy"
    stage(target)
    link_local_output(target, home)
    (target / "files" / "warehouse.db").write_bytes(b"warehouse")  # where `fivetran debug` in the stage writes
    (target / "files" / "state.json").write_text('{"streams": {}}')
    (target / "crash-reports" / "crash.log").write_text("report")

    stage(target)  # `make package`
    assert not (target / "files").exists()  # the upload's stage holds no link to them
    link_local_output(target, home)  # the next `make debug` finds them again
    assert (target / "files" / "state.json").read_text() == '{"streams": {}}'
    shutil.rmtree(home / "build")  # `make clean`
    assert (home / "files" / "warehouse.db").read_bytes() == b"warehouse"
    assert (home / "files" / "state.json").read_text() == '{"streams": {}}'
    assert (home / "crash-reports" / "crash.log").read_text() == "report"
