"""Run as a script: one sync with a counting sink against the given simulator URL, then print the
rows synced and this process's peak RSS as JSON. A separate process, so the peak is the sync's own."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from xurrent_async.bench.clients import CountingSink
from xurrent_async.settings import parse_settings
from xurrent_async.sync import run_sync


def main(base_url: str) -> None:
    settings, _ = parse_settings({"oauth_token": "sim-token", "account_id": "sim-account", "base_url": base_url,
                                  "burst_limit": "10000", "rate_limit_per_hour": "1000000"})
    sink = CountingSink()
    run_sync(settings, None, sink)
    print(json.dumps({"rows": sink.rows, "peak_rss_kb": peak_rss_kb()}))


def peak_rss_kb() -> int:
    """This process's own high-water mark. (ru_maxrss of a child also counts its parent's memory
    from before the exec, which would hide any growth.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


if __name__ == "__main__":
    main(sys.argv[1])
