"""The demo's core path (what `make demo` runs), on a small account: two real syncs through
`fivetran debug`, the second moving only the changed records."""

import pytest

from tests.sdk_harness import make_project, sdk_env
from xurrent_async.demo import CHANGED_SHARE, run_demo

pytestmark = pytest.mark.slow


def test_the_demo_syncs_everything_then_only_the_changes(tmp_path):
    records = {"organizations": 600, "products": 900, "projects": 700}
    project = make_project(tmp_path)
    first, second = run_demo(project, sdk_env(tmp_path), records, latency=0.01, burst_limit=200)
    assert first.rows == records == second.rows
    assert first.synced == records
    for table, count in records.items():
        changed = len(range(0, count, int(1 / CHANGED_SHARE)))
        # The changed records, plus the few the lookback re-reads; far from the whole stream.
        assert changed <= second.synced[table] <= changed + count // 10
        assert second.requests[table] == 1
