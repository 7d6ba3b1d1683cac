"""Memory stays flat with the account's size: the queue is bounded and rows leave as they come."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from xurrent_async.simulator import SimConfig, SimulatorThread

pytestmark = pytest.mark.slow
PROBE = Path(__file__).with_name("memory_probe.py")


def peak_rss_kb(records_per_stream: int) -> int:
    with SimulatorThread(SimConfig(records=records_per_stream, burst_limit=None, hourly_limit=None)) as sim:
        result = subprocess.run([sys.executable, str(PROBE), sim.base_url], capture_output=True, text=True,
                                timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["rows"] >= 3 * records_per_stream - 3
    return figures["peak_rss_kb"]


def test_peak_memory_of_a_sync_ten_times_larger_stays_within_20_percent():
    # 450,000 vs 45,000 records would take ~90 s here; the bench measures 1,000,000 vs 100,000.
    small = peak_rss_kb(5_000)
    large = peak_rss_kb(50_000)
    assert large <= small * 1.2, (small, large)
