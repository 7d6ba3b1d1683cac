"""How big a full and a quick run are, and the fixed figures (the API's limits, the connector's
defaults, the simulator's credentials) that the scenarios share."""

from __future__ import annotations

from dataclasses import dataclass

COLLECTIONS = ("organizations", "products", "projects")  # the simulator's collections, the connector's tables
TOKEN, ACCOUNT = "sim-token", "sim-account"  # the simulator's built-in credentials, not secrets
POOL_TOKENS = ("sim-token-1", "sim-token-2", "sim-token-3")  # three simulated users' tokens, not secrets
NO_BURST_LIMIT, NO_HOURLY_LIMIT = 10_000, 1_000_000  # the highest values settings allow: "limits off"
REAL_BURST, BURST_SECONDS = 20, 2.0  # the API's short-burst limit per token
REAL_HOURLY = 3600
ORIGINAL_PER_PAGE = 25  # the original example's default page size
PER_PAGE = 100  # the connector's default (the API's maximum)
CONCURRENCY = 8  # the connector's default max_concurrency


@dataclass(frozen=True)
class Sizes:
    original_records: int  # per collection (the baseline reads them 25 at a time: the long pole)
    limits_hour_seconds: float  # the scaled "hour" of the limits scenario
    limits_hourly: int  # its quota; below burst rate × hour so that the quota binds
    limits_windows: float  # how many quota windows' worth of requests the sync needs
    tokens_records: int  # per collection, for tokens-3 (one credential needs about records / 1,000 s)
    tokens_hour_seconds: float  # its scaled "hour"
    latency_pages: int  # pages per concurrent walk
    latency_sync_records: int  # per collection, for the run_sync variant
    efficiency_records: tuple[int, int, int]  # organizations, products, projects
    efficiency_cap: int  # the simulator's record cap (the API's is 100,000)
    sdk_records: int  # per collection
    sdk_runs: int  # pairs of runs, one of each side back to back; the median pair counts
    memory_records: tuple[int, int]  # small, large (total across collections)
    memory_sdk_records: tuple[int, int]


FULL = Sizes(
    original_records=5_000, limits_hour_seconds=60.0, limits_hourly=400, limits_windows=1.5,
    tokens_records=15_000, tokens_hour_seconds=30.0,
    latency_pages=60, latency_sync_records=3_000, efficiency_records=(25_000, 25_000, 50_000), efficiency_cap=10_000,
    sdk_records=4_000, sdk_runs=7, memory_records=(100_000, 1_000_000), memory_sdk_records=(20_000, 200_000),
)


QUICK = Sizes(
    original_records=300, limits_hour_seconds=6.0, limits_hourly=30, limits_windows=1.3,
    tokens_records=2_000, tokens_hour_seconds=6.0,
    latency_pages=20, latency_sync_records=600, efficiency_records=(5_000, 5_000, 10_000), efficiency_cap=2_000,
    sdk_records=1_500, sdk_runs=1, memory_records=(20_000, 200_000), memory_sdk_records=(4_000, 40_000),
)
