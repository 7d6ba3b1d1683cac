"""An event loop whose clock jumps: when nothing is ready to run, time moves straight to the next
timer instead of waiting for it. Everything scheduled on the loop (asyncio.sleep, call_at, and
aiolimiter's AsyncLimiter, which reads loop.time()) then runs on a fake clock, in no wall time,
and always in the same order. For tests without network I/O."""

from __future__ import annotations

import asyncio
import math
import selectors
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")
START = 1_000.0


class _JumpingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    def __init__(self, loop: VirtualTimeLoop):
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is None:
            raise RuntimeError("nothing left to run and no timer: the test would wait forever")
        if timeout > 0:
            # At least one step of the float: a timer a hair away must still come due, as it
            # would in real time.
            self._loop.now = max(self._loop.now + timeout, math.nextafter(self._loop.now, math.inf))
        return super().select(0)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self.now = START
        super().__init__(_JumpingSelector(self))

    def time(self) -> float:
        return self.now


def run(main: Callable[[], Awaitable[T]]) -> T:
    """Run `main()` to its end on a fresh virtual-time loop."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()
