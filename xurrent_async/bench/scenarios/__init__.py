"""Every scenario of the bench, in the order a run takes them; one module per scenario or family."""

from __future__ import annotations

from ..runner import Scenario
from .efficiency import request_efficiency
from .latency import vs_latency
from .limits import vs_limits
from .memory import memory, memory_sdk
from .original import vs_original
from .sdk import vs_sdk
from .tokens import vs_one_token, vs_one_token_busy, vs_one_token_per_host

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("original-burst", "original example's approach vs run_sync, real burst limit", vs_original,
             {"limited": True}),
    Scenario("original-unlimited", "original example's approach vs run_sync, limits off", vs_original,
             {"limited": False}, quick_meets=False),
    Scenario("limits", "request rate vs the burst limit and a scaled hourly quota", vs_limits, quick_meets=False),
    Scenario("tokens-3", "a full sync with three users' credentials vs one", vs_one_token, quick_meets=False),
    Scenario("tokens-3-host", "the same with the burst limit counted per host", vs_one_token_per_host,
             quick_meets=False),
    Scenario("tokens-3-busy", "the same with another integration spending each user's quota", vs_one_token_busy,
             quick_meets=False),
    Scenario("latency-8", "requests/s vs 8 / latency", vs_latency, {"concurrency": 8}),
    Scenario("latency-32", "requests/s vs 32 / latency", vs_latency, {"concurrency": 32}),
    Scenario("latency-8-sync", "requests/s of a whole run_sync vs 8 / latency", vs_latency,
             {"concurrency": 8, "sync": True}, quick_meets=False),
    Scenario("efficiency", "requests vs the minimum, over the record cap", request_efficiency, quick_meets=False),
    Scenario("sdk", "rows/s through the SDK runner vs a plain upsert loop", vs_sdk),
    Scenario("memory", "peak RSS, 1M vs 100k records (run_sync)", memory, quick=False),
    Scenario("memory-sdk", "peak RSS through the SDK runner, 200k vs 20k, with a control", memory_sdk,
             quick=False, default=False),
)


