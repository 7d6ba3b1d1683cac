"""Clocks for the simulator. Everything time-related (Date headers, rate-limit windows, token
expiry, record changes) reads `clock.now()`, so tests can drive a FakeClock without real waiting."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...


class SystemClock:
    """Wall clock plus a settable skew, to play a server whose clock differs from the client's."""

    def __init__(self, skew_seconds: float = 0.0) -> None:
        self.skew_seconds = skew_seconds

    def now(self) -> float:
        return time.time() + self.skew_seconds


class FakeClock:
    """A clock that only moves when told to. Thread-safe, as SimulatorThread reads it from its loop."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, when: float) -> None:
        with self._lock:
            self._now = float(when)
