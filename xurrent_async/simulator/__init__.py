"""A local Xurrent (formerly 4me) REST API for tests, the demo and the benchmark.

It plays the contract in xurrent-api.md over a seeded, generated data set: bearer tokens and the
OAuth client-credentials flow, cursor pagination with Link headers and the record cap, filters and
sorting, per-token rate limits, and switchable faults. It binds 127.0.0.1 only. See app.py for the
order of checks and the error bodies.
"""

from .clock import FakeClock, SystemClock
from .config import COLLECTIONS, FaultConfig, SimConfig
from .runner import SimulatorThread, running_simulator
from .server import Simulator
from .stats import SimStats

__all__ = [
    "COLLECTIONS",
    "FakeClock",
    "FaultConfig",
    "SimConfig",
    "SimStats",
    "Simulator",
    "SimulatorThread",
    "SystemClock",
    "running_simulator",
]
