"""A simulated account for a scenario: the simulator's configuration, the connector settings that
point at it, how records spread over the collections, and what the simulator served."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .sizes import (
    ACCOUNT,
    BURST_SECONDS,
    COLLECTIONS,
    CONCURRENCY,
    NO_BURST_LIMIT,
    NO_HOURLY_LIMIT,
    PER_PAGE,
    TOKEN,
)

if TYPE_CHECKING:
    from xurrent_async.simulator import SimConfig, Simulator


def configuration(base_url: str, *, concurrency: int = CONCURRENCY, burst: int | None = None,
                  hourly: int | None = None, per_page: int = PER_PAGE,
                  tokens: Sequence[str] = (TOKEN,)) -> dict[str, str]:
    """Connector settings as the SDK hands them over (strings). None = that limit off."""
    return {
        "oauth_token": ",".join(tokens),
        "account_id": ACCOUNT,
        "base_url": base_url,
        "max_concurrency": str(concurrency),
        "burst_limit": str(burst or NO_BURST_LIMIT),
        "rate_limit_per_hour": str(hourly or NO_HOURLY_LIMIT),
        "max_records_per_page": str(per_page),
    }


def sim_config(records: int | Mapping[str, int], *, latency: float = 0.0, jitter: float = 0.0,
               burst: int | None = None, hourly: int | None = None, hour_seconds: float = 3600.0,
               record_cap: int = 100_000, tokens: Sequence[str] = (TOKEN,), burst_scope: str = "user") -> SimConfig:
    """`latency` is the mean: the simulator adds uniform(0, jitter) to a base of latency - jitter/2.
    Each token is a user of its own: its own limits (its own burst window unless `burst_scope` says
    otherwise)."""
    from xurrent_async.simulator import SimConfig

    return SimConfig(
        records=dict(records) if isinstance(records, Mapping) else records,
        tokens=tuple(tokens),
        latency=max(0.0, latency - jitter / 2), latency_jitter=jitter,
        burst_limit=burst, burst_seconds=BURST_SECONDS, hourly_limit=hourly, hour_seconds=hour_seconds,
        record_cap=record_cap, burst_scope=burst_scope,
    )


def per_collection(n: int) -> dict[str, int]:
    return dict.fromkeys(COLLECTIONS, n)


def split_total(total: int) -> dict[str, int]:
    """`total` records over the three collections, as evenly as whole numbers allow."""
    base, rest = divmod(total, len(COLLECTIONS))
    return {c: base + (i < rest) for i, c in enumerate(COLLECTIONS)}


def served(sim: Simulator) -> tuple[int, int]:
    """Requests the simulator answered (any status) and 429s among them."""
    return sim.stats.requests, sim.stats.rate_limited


def cpu_figures(result: Mapping[str, Any]) -> dict[str, float]:
    """How busy the simulator (this process) and the worker were during a worker's run."""
    wall = result["wall_seconds"]
    return {"simulator_cpu_share": result["sim_cpu_seconds"] / wall, "worker_cpu_share": result["cpu_seconds"] / wall}


def cpu_note(result: Mapping[str, Any]) -> str:
    figures = cpu_figures(result)
    return (f"CPU busy: simulator {figures['simulator_cpu_share']:.0%}, "
            f"worker {figures['worker_cpu_share']:.0%} (start-up included)")
