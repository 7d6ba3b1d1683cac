"""Holds: a test's way to stop the simulator at a moment chosen by a count, not by the clock.

`sim.hold_after(n)` lets `n` more list pages be served (of one collection, or of any), then keeps
every later request of that collection (or of any) waiting at its arrival, before it is counted,
checked or answered, until the test calls `release()`. A sync cannot end while one of its requests
is held, so a test can kill it, or change a switch that the held requests will then meet, at a
moment that is mid-sync by construction, however fast or slow the machine. Requests already past
the hold point when it engages are answered as usual. Token requests are never held.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType


class Hold:
    def __init__(self, pages: int, collection: str | None = None) -> None:
        if pages < 0:
            raise ValueError("pages must be 0 or more")
        self.collection = collection
        self._left = pages
        self._lock = threading.Lock()
        self.engaged = threading.Event()  # the n-th page was served: requests from now on wait
        self.holding = threading.Event()  # a request is waiting (proof that its sync has not ended)
        self.released = threading.Event()
        self.held = 0  # requests that waited
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        if pages == 0:
            self.engaged.set()

    def _covers(self, collection: str) -> bool:
        return self.collection is None or self.collection == collection

    def page_served(self, collection: str) -> None:
        if not self._covers(collection):
            return
        with self._lock:
            if self._left > 0:
                self._left -= 1
                if self._left == 0:
                    self.engaged.set()

    async def wait(self, collection: str) -> None:
        """In the simulator's loop, at a request's arrival: wait while this hold applies to it."""
        if not self._covers(collection) or not self.engaged.is_set():
            return
        woken = asyncio.Event()
        with self._lock:  # release() runs in the test's thread: register, or see it was released
            if self.released.is_set():
                return
            self._waiters.append((asyncio.get_running_loop(), woken))
            self.held += 1
        self.holding.set()
        await woken.wait()

    def release(self) -> None:
        """Answer the held requests (with the switches as they are now) and hold no more."""
        with self._lock:
            self.released.set()
            waiters, self._waiters = self._waiters, []
        for loop, woken in waiters:
            with contextlib.suppress(RuntimeError):  # that simulator stopped: nothing waits there
                loop.call_soon_threadsafe(woken.set)

    def __enter__(self) -> Hold:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
