"""memory, memory-sdk: peak RSS of a large sync against a small one, in run_sync alone and through
the SDK's runner (beside a plain loop as the control)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..results import BenchError, Row, Target, judged
from ..runner import Bench
from ..simulated import configuration, served, sim_config, split_total
from .sdk import connector_project, plain_project, run_through_sdk


def memory_row(name: str, side: str, total: int, requests: int | None, result: Mapping[str, Any]) -> Row:
    before = result.get("rss_before_mb")
    return Row(name, side, total, requests, result["seconds"],
               note=f"peak RSS {result['peak_rss_mb']:.0f} MB"
                    + (f" ({before:.0f} MB before the sync started)" if before else ""),
               extra={"peak_rss_mb": result["peak_rss_mb"], "rss_before_mb": before})


def peak_ratio(small: Row, large: Row) -> float:
    return large.extra["peak_rss_mb"] / small.extra["peak_rss_mb"]


def memory(bench: Bench) -> list[Row]:
    """Peak RSS of run_sync into a counting sink, in its own process, a large sync ÷ a small one:
    flat memory gives a ratio near 1. (The SDK's runner upserts ~1,000-2,000 of these rows a second:
    a million would not fit the budget; memory-sdk measures through it at smaller sizes.)"""
    from xurrent_async.simulator import SimulatorThread

    rows = []
    for total in bench.sizes.memory_records:
        with SimulatorThread(sim_config(split_total(total))) as sim:
            result = bench.worker("sync", configuration=configuration(sim.base_url))
            requests, _ = served(sim)
        if result["rows"] != total:
            raise BenchError(f"memory: {result['rows']} rows of {total}")
        rows.append(memory_row("memory", f"run_sync {total:,}", total, requests, result))
    small, large = rows
    judged(large, peak_ratio(small, large), Target("<=", 1.2))
    large.note += f"; ÷ {small.extra['peak_rss_mb']:.0f} MB at {small.records:,}: the sync process only"
    return rows


def memory_sdk(bench: Bench) -> list[Row]:
    """Peak RSS through the SDK's runner, large ÷ small, for the connector and, as the control, for
    a plain loop that streams the same rows from disk: DuckDB's own growth shows in both."""
    from xurrent_async.simulator import SimulatorThread

    rows: list[Row] = []
    for total in bench.sizes.memory_sdk_records:
        with SimulatorThread(sim_config(split_total(total))) as sim:
            plain = plain_project(bench, f"memory-plain-{total}", sim, preload=False)
            rows.append(memory_row("memory-sdk", f"plain loop {total:,} (control)", total, None,
                                   run_through_sdk(bench, plain, {}, total)))
            sim.reset_stats()
            result = run_through_sdk(bench, connector_project(bench, f"memory-connector-{total}"),
                                     configuration(sim.base_url), total)
            rows.append(memory_row("memory-sdk", f"connector {total:,}", total, served(sim)[0], result))
    plain_small, small, plain_large, large = rows
    plain_large.ratio = peak_ratio(plain_small, plain_large)
    judged(large, peak_ratio(small, large), Target("<=", 1.2))
    large.note += (f"; ÷ {small.extra['peak_rss_mb']:.0f} MB at {small.records:,}, through fivetran debug "
                   f"(DuckDB); the control grows {plain_large.ratio:.2f}× over the same sizes")
    return [plain_small, small, plain_large, large]
