"""Runs the async extraction in a daemon thread and hands its events to the calling thread.

The SDK calls `update()` on its own thread and every `op.*` must stay there, so the event loop
lives in a worker thread and the two meet at one bounded `asyncio.Queue`: the worker `await`s
`put` (backpressure keeps memory flat), the caller takes events with `get` scheduled onto the
worker's loop. Whatever happens, the worker ends with a `Finished` or `Failed` event, and leaving
the context cancels and joins it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from types import TracebackType

from xurrent_async.events import Event, Failed, Finished

Producer = Callable[[Callable[[Event], Awaitable[None]]], Awaitable[None]]
POLL_SECONDS = 0.5
JOIN_SECONDS = 30.0


class WorkerDied(RuntimeError):
    """The worker thread ended without saying why (should not happen; never hangs instead)."""


class Bridge:
    def __init__(self, producer: Producer, maxsize: int, name: str = "xurrent-extract"):
        self._producer = producer
        self._maxsize = maxsize
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[Event] | None = None
        self._main: asyncio.Task[None] | None = None
        self._final_taken = asyncio.Event()  # replaced on the worker loop before use
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    # -- caller's side ---------------------------------------------------------------------
    def __enter__(self) -> Bridge:
        self._thread.start()
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
            future = asyncio.run_coroutine_threadsafe(self._queue.get(), self._loop)
            while True:
                try:
                    event = future.result(timeout=POLL_SECONDS)
                    break
                except concurrent.futures.TimeoutError:
                    if not self._thread.is_alive():
                        raise WorkerDied("the extraction thread ended without a final event") from None
                    if idle is not None:
                        idle()
            if isinstance(event, (Finished, Failed)):
                # Let the worker end only now: ending earlier would cancel this very get().
                self._loop.call_soon_threadsafe(self._final_taken.set)
                yield event
                return
            yield event

    def close(self) -> None:
        """Cancel the worker if it still runs, and wait for it to end."""
        loop, main = self._loop, self._main
        if self._thread.is_alive() and loop is not None and main is not None:
            # RuntimeError: the loop closed meanwhile, so the thread is ending on its own.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(main.cancel)
        self._thread.join(JOIN_SECONDS)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- worker's side ---------------------------------------------------------------------
    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            self._queue = asyncio.Queue(self._maxsize)
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
