"""The README's recipe for a real account, followed in a fresh clone: afterwards `git status`
offers no new file to commit (the filled-in configuration, files/, crash-reports/, the demo's
folder are ignored), and the upload the SDK packages (`fivetran package`, what `fivetran deploy`
uploads) holds no configuration but the empty template, and none of the credentials."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.reliability.helpers import sim_config
from tests.sdk_harness import REPO, sdk_env
from xurrent_async.simulator import SimulatorThread

pytestmark = pytest.mark.slow
GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"]


def _git(clone: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=clone, check=True, text=True, capture_output=True).stdout


def _fresh_clone(root: Path) -> Path:
    """What a clone of this working tree holds: the files git tracks or would offer to add."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            check=True, capture_output=True).stdout.decode().split("\0")
    clone = root / "clone"
    for name in filter(None, listed):
        if (REPO / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, clone / name)
    _git(clone, "init", "-q")
    _git(clone, "add", "-A")
    _git(clone, "commit", "-qm", "clone")
    (clone / ".venv").symlink_to(Path(REPO / ".venv").resolve(), target_is_directory=True)  # as `make` leaves it
    for name in ("requirements.txt", "requirements-dev.txt"):  # older than that venv: `make` must not reinstall it
        os.utime(clone / name, (946_684_800, 946_684_800))  # 2000-01-01 (a zip holds no earlier time)
    return clone


def _recipe() -> list[str]:
    """The commands of the README's recipe for a real account (its first sh block)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Running against a real account", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block, "the README has no recipe"
    return [line.split("  #", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_after_the_readmes_recipe_git_offers_nothing_new_and_the_upload_holds_no_secret(tmp_path):
    # Made now: the upload holds this repository's tests, so a credential written in them would be found there.
    token, client_secret = f"xpat-{secrets.token_hex(16)}", f"xcs-{secrets.token_hex(16)}"
    commands = _recipe()
    copy = next(c for c in commands if c.startswith("cp configuration.json "))
    local = copy.split()[-1]
    assert f"make debug CONFIG={local}" in commands, commands
    clone = _fresh_clone(tmp_path)
    env = sdk_env(tmp_path)
    with SimulatorThread(sim_config(records=200, seed=81, tokens=(token,))) as sim:
        for command in commands:
            result = subprocess.run(["bash", "-c", f"set -e; source .venv/bin/activate; {command}"], cwd=clone,
                                    env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            assert result.returncode == 0, f"{command}:\n{result.stdout[-3000:]}"
            if command == copy:  # "fill in account_id and oauth_token": ours, pointing at the simulator
                filled = json.loads((clone / local).read_text())
                filled.update(oauth_token=token, account_id="sim-account", base_url=sim.base_url, client_id="",
                              client_secret="", burst_limit="10000", rate_limit_per_hour="1000000")
                (clone / local).write_text(json.dumps(filled, indent=2))
            if command.startswith("make debug"):
                assert "SYNC SUCCEEDED" in result.stdout, result.stdout[-3000:]
    assert (clone / "files" / "state.json").is_file()  # at the root: the stage links to it
    # What else a user's clone collects: a crash report of an unexpected error (it lists the
    # configuration it ran with), a second configuration for OAuth, the demo's folder.
    (clone / "crash-reports").mkdir(exist_ok=True)  # `make debug` made it
    (clone / "crash-reports" / "crash_20261202-000000.log").write_text(f"client_secret={client_secret} {token}")
    (clone / "oauth.local.json").write_text(json.dumps({"client_id": "c", "client_secret": client_secret}))
    (clone / ".demo" / "files").mkdir(parents=True)
    (clone / ".demo" / "files" / "state.json").write_text("{}")

    assert _git(clone, "status", "--porcelain", "--untracked-files=all") == ""

    packaged = subprocess.run([str(clone / ".venv" / "bin" / "fivetran"), "package", "--non-interactive"], cwd=clone,
                              env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert packaged.returncode == 0, packaged.stdout[-3000:]
    path = Path(re.search(r"package created at: (\S+\.zip)", packaged.stdout).group(1))
    template = (clone / "configuration.json").read_bytes()
    with zipfile.ZipFile(path) as upload:
        names = upload.namelist()
        assert "connector.py" in names and "xurrent_async/sync.py" in names
        for name in names:
            body = upload.read(name)
            for secret in (token, client_secret):
                assert secret.encode() not in body, f"{secret} is in the upload's {name}"
            if b'"oauth_token"' in body and name.endswith(".json"):
                assert body == template, f"{name} is a configuration other than the empty template"
    assert not [n for n in names if n.endswith(".local.json") or n.startswith(("files/", "crash-reports/", ".demo/"))]
    assert _git(clone, "status", "--porcelain", "--untracked-files=all") == ""  # the zip went to files/ too
