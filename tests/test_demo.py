"""The demo's core path (what `make demo` runs), on a small account: two real syncs through
`fivetran debug`, the second moving only the changed records, in the demo's own folder. Run twice,
it leaves the user's files/ (their warehouse and state) exactly as it found it."""

import pytest

from tests.sdk_harness import make_project, sdk_env
from xurrent_async.demo import CHANGED_SHARE, DEMO_DIR, run_demo

pytestmark = pytest.mark.slow


def _snapshot(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_demo_twice_syncs_everything_then_only_the_changes_and_leaves_files_alone(tmp_path):
    records = {"organizations": 600, "products": 900, "projects": 700}
    repo = make_project(tmp_path)  # stands for the repository: connector.py, requirements.txt, the package
    # A user's own sync, prepared before the demo: a warehouse and a state of a real account.
    files = repo / "files"
    files.mkdir()
    (files / "warehouse.db").write_bytes(b"the user's 30,000-row warehouse")
    (files / "state.json").write_text('{"format": 2, "source": {"account_id": "wdc", "host": "api.xurrent.com"}}')
    before = _snapshot(files)
    for _ in range(2):
        first, second = run_demo(repo, sdk_env(tmp_path), records, latency=0.01, burst_limit=200)
        assert first.rows == records == second.rows
        assert first.synced == records  # the second demo starts afresh too: a full sync again
        for table, count in records.items():
            changed = len(range(0, count, int(1 / CHANGED_SHARE)))
            # The changed records, plus the few the lookback re-reads; far from the whole stream.
            assert changed <= second.synced[table] <= changed + count // 10
            assert second.requests[table] == 1
        assert _snapshot(files) == before
    assert (repo / DEMO_DIR / "files" / "warehouse.db").is_file()
    assert sorted(p.name for p in files.iterdir()) == ["state.json", "warehouse.db"]
