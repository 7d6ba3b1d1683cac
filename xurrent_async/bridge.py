"""Runs the async extraction in a daemon thread and hands its events to the calling thread.

The SDK calls `update()` on its own thread and every `op.*` must stay there, so the event loop
lives in a worker thread and the two meet at one bounded hand-off: the worker `await`s `put`
(backpressure keeps memory flat), the caller blocks on `get`. Whatever happens, the worker ends
with a `Finished` or `Failed` event, and leaving the context cancels and joins it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from types import TracebackType

from xurrent_async.events import Event, Failed, Finished

Producer = Callable[[Callable[[Event], Awaitable[None]]], Awaitable[None]]
POLL_SECONDS = 0.5
JOIN_SECONDS = 30.0
# The GIL switch interval while a bridge runs (CPython's default is 5 ms). The caller's thread is
# CPU-bound in the SDK; the worker asks for the GIL at every socket event and, after the interval,
# forces the caller to hand it over. At 5 ms that happens up to 200 times a second, each hand-over
# a wake-up across cores. At 50 ms the worker mostly gets the GIL when the caller blocks anyway, and
# its lateness costs nothing while the queue holds pages. Measured: about 8% faster through the SDK.
SWITCH_INTERVAL = 0.05


class WorkerDied(RuntimeError):
    """The worker thread ended without saying why (should not happen; never hangs instead)."""


class HandOff:
    """A bounded FIFO from an event loop (`await put`) to a plain thread (`get`).

    The caller takes what is queued under a lock, without a round trip through the loop (which
    put the SDK's thread to sleep and woke the worker once per event). Writers that found it full
    are woken once it has drained to half, so the worker fetches in bursts instead of a page each
    time the caller takes one."""

    def __init__(self, maxsize: int, loop: asyncio.AbstractEventLoop):
        self._items: collections.deque[Event] = collections.deque()
        self._maxsize = maxsize
        self._resume_at = maxsize // 2
        self._loop = loop
        self._cond = threading.Condition()
        self._space = asyncio.Event()  # set and cleared on the loop only
        self._writers_wait = False

    async def put(self, item: Event) -> None:
        """On the loop: queue `item`, waiting while the queue is full."""
        while True:
            with self._cond:
                if len(self._items) < self._maxsize:
                    self._items.append(item)
                    self._cond.notify()
                    return
                self._writers_wait = True
                self._space.clear()  # before the set that get() schedules, which runs on this loop later
            await self._space.wait()

    def get(self, timeout: float) -> Event | None:
        """On the caller's thread: the next item, or None if none came within `timeout` seconds."""
        with self._cond:
            if not self._items:
                self._cond.wait(timeout)
                if not self._items:
                    return None
            item = self._items.popleft()
            if self._writers_wait and len(self._items) <= self._resume_at:
                self._writers_wait = False
                with contextlib.suppress(RuntimeError):  # the loop closed: no writer is left to wake
                    self._loop.call_soon_threadsafe(self._space.set)
            return item


class Bridge:
    def __init__(self, producer: Producer, maxsize: int, name: str = "xurrent-extract"):
        self._producer = producer
        self._maxsize = maxsize
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: HandOff | None = None
        self._main: asyncio.Task[None] | None = None
        self._final_taken = asyncio.Event()  # replaced on the worker loop before use
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._switch_interval: float | None = None  # the interpreter's, restored on close()

    # -- caller's side ---------------------------------------------------------------------
    def __enter__(self) -> Bridge:
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(max(self._switch_interval, SWITCH_INTERVAL))
        try:
            self._thread.start()
        except BaseException:  # __exit__ will not run: restore the interval here
            sys.setswitchinterval(self._switch_interval)
            raise
        self._ready.wait()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def events(self, idle: Callable[[], object] | None = None) -> Iterator[Event]:
        """Every event, in order, ending with Finished or Failed. `idle` is called on the
        caller's thread whenever no event came for POLL_SECONDS (e.g. while the token waits for
        its quota): what is due by the clock need not wait for the next event."""
        assert self._loop is not None and self._queue is not None
        while True:
            event = self._queue.get(POLL_SECONDS)
            if event is None:
                if not self._thread.is_alive():
                    raise WorkerDied("the extraction thread ended without a final event")
                if idle is not None:
                    idle()
                continue
            if isinstance(event, (Finished, Failed)):
                # Let the worker end only now: ending earlier would cancel this very get().
                self._loop.call_soon_threadsafe(self._final_taken.set)
                yield event
                return
            yield event

    def close(self) -> None:
        """Cancel the worker if it still runs, wait for it to end, restore the switch interval."""
        loop, main = self._loop, self._main
        try:
            if self._thread.is_alive() and loop is not None and main is not None:
                # RuntimeError: the loop closed meanwhile, so the thread is ending on its own.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(main.cancel)
            self._thread.join(JOIN_SECONDS)
        finally:
            if self._switch_interval is not None:
                sys.setswitchinterval(self._switch_interval)
                self._switch_interval = None

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- worker's side ---------------------------------------------------------------------
    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            self._queue = HandOff(self._maxsize, loop)
            self._final_taken = asyncio.Event()
            self._main = loop.create_task(self._produce())
            self._ready.set()
            loop.run_until_complete(self._main)
        except BaseException:  # cancelled by close(): the caller is already leaving
            pass
        finally:
            self._ready.set()
            try:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                # aiohttp resolves names in the loop's default executor: end its threads too.
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()

    async def _produce(self) -> None:
        assert self._queue is not None
        try:
            await self._producer(self._queue.put)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # every failure is handed to the caller's thread
            await self._queue.put(Failed(exc))
        else:
            await self._queue.put(Finished())
        await self._final_taken.wait()  # close() cancels this if the caller leaves without it
