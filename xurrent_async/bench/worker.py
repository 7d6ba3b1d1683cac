"""The worker process: runs one job of the code under test and times it itself.

    python -m xurrent_async.bench.worker '{"job": "sync", "out": "result.json", ...}'

The bench starts one per measured side (runner.Bench.worker), so that the simulator, in the
bench's process, shares no GIL with what is measured."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .clients import CountingSink, concurrent_walks, original_extract
from .sizes import ORIGINAL_PER_PAGE


def memory_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process, in MiB.

    On Linux from /proc (VmRSS, VmHWM): they belong to this program alone. `ru_maxrss` would not do
    in a child process: it also counts the parent's pages the child held between fork and exec, so
    a small sync started from a big parent reports the parent's size."""
    try:
        status = Path("/proc/self/status").read_text().splitlines()
        fields = {k: v.split()[0] for k, _, v in (line.partition(":") for line in status) if v.strip()}
        return int(fields["VmRSS"]) / 1024, int(fields["VmHWM"]) / 1024
    except (OSError, KeyError, ValueError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak_mb = peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux
        return peak_mb, peak_mb


def job_sync(spec: dict[str, Any]) -> dict[str, Any]:
    """The connector's whole extraction and consumer (`run_sync`) into a counting sink."""
    from xurrent_async.settings import parse_settings
    from xurrent_async.sync import run_sync
    from xurrent_async.tuning import Tuning

    settings, _ = parse_settings(spec["configuration"])
    tuning = Tuning(**spec.get("tuning", {}))
    sink = CountingSink()
    before, _ = memory_mb()
    started = time.perf_counter()
    report = run_sync(settings, {}, sink, tuning=tuning)
    seconds = time.perf_counter() - started
    return {"rows": sink.rows, "requests": report.requests, "throttled": report.throttled,
            "retries": report.retries, "checkpoints": sink.checkpoints, "seconds": seconds,
            "rss_before_mb": before, "peak_rss_mb": memory_mb()[1]}


def preload(*modules: str) -> None:
    """Import before the clock starts: importing aiohttp alone takes a good part of a second."""
    import importlib

    for name in modules:
        importlib.import_module(name)


def job_original(spec: dict[str, Any]) -> dict[str, Any]:
    preload("aiohttp", "xurrent_async.resources")
    sink = CountingSink()
    started = time.perf_counter()
    asyncio.run(original_extract(spec["base_url"], sink, spec.get("per_page", ORIGINAL_PER_PAGE)))
    return {"rows": sink.rows, "seconds": time.perf_counter() - started, "peak_rss_mb": memory_mb()[1]}


def job_walks(spec: dict[str, Any]) -> dict[str, Any]:
    preload("aiohttp", "xurrent_async.resources", "xurrent_async.session", "xurrent_async.settings")
    walks = [(str(t), int(a), int(b)) for t, a, b in spec["walks"]]
    started = time.perf_counter()
    records = asyncio.run(concurrent_walks(spec["configuration"], walks, int(spec["per_page"]),
                                           bare=bool(spec.get("bare"))))
    return {"rows": records, "seconds": time.perf_counter() - started}


def job_sdk(spec: dict[str, Any]) -> dict[str, Any]:
    """`connector.debug()` of the project's connector.py, as `fivetran debug` calls it, timed."""
    import importlib.util

    import fivetran_connector_sdk_cli.connector as sdk_connector

    # pipreqs scans the project and asks PyPI, which takes seconds offline: skipped, on both sides.
    sdk_connector.validate_requirements_file = lambda *args, **kwargs: None
    project = Path(spec["project"])
    # What `fivetran debug` sets around a run.
    os.environ.update(FIVETRAN_CONNECTION_ID="test_connection_id", FIVETRAN_DEPLOYMENT_MODEL="local_debug",
                      FIVETRAN_GROUP_ID="test_group_id", FIVETRAN_CONNECTION_NAME="test_connection_name")
    os.chdir(project)  # as `fivetran debug` is run from the project
    sys.path.insert(0, str(project))
    module_spec = importlib.util.spec_from_file_location("connector", project / "connector.py")
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)  # the plain loop loads its rows here, before the clock starts
    started = time.perf_counter()
    module.connector.debug(project_path=str(project), configuration=spec["configuration"])
    return {"seconds": time.perf_counter() - started, "peak_rss_mb": memory_mb()[1]}


JOBS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "sync": job_sync, "original": job_original, "walks": job_walks, "sdk": job_sdk,
}


def worker_main(spec_text: str) -> None:
    spec = json.loads(spec_text)
    result = JOBS[spec["job"]](spec)
    result["cpu_seconds"] = time.process_time()  # the worker's whole CPU time, start-up included
    Path(spec["out"]).write_text(json.dumps(result))


if __name__ == "__main__":
    worker_main(sys.argv[1])
