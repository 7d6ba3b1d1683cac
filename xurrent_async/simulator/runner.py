"""Ways to run a Simulator: serve it in the current event loop, or in a daemon thread with its own
loop (for synchronous callers: a connector run in a subprocess, the demo, the benchmark).

The one module that puts the pieces together: runner → app (handlers) → listing → server
(the Simulator), never back."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType

from aiohttp import web

from .app import build_app
from .clock import Clock
from .config import SimConfig
from .server import HOST, Simulator


async def start(sim: Simulator, port: int = 0) -> web.AppRunner:
    """Serve `sim` on 127.0.0.1 (an ephemeral port by default) in the running loop; sets `sim.port`.
    `await runner.cleanup()` stops it."""
    # handler_cancellation: a stalled handler ends when its client gives up.
    runner = web.AppRunner(build_app(sim), handler_cancellation=True, shutdown_timeout=0.5, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, port).start()
    sim.port = runner.addresses[0][1]
    return runner


@asynccontextmanager
async def serving(sim: Simulator, port: int = 0) -> AsyncIterator[Simulator]:
    """`async with serving(sim) as sim:` serves an existing Simulator until the block ends."""
    runner = await start(sim, port)
    try:
        yield sim
    finally:
        await runner.cleanup()


@asynccontextmanager
async def running_simulator(
    config: SimConfig | None = None, *, clock: Clock | None = None, port: int = 0
) -> AsyncIterator[Simulator]:
    """A new Simulator of `config`, served in the running loop while the block runs."""
    async with serving(Simulator(config, clock=clock), port) as sim:
        yield sim


class SimulatorThread:
    """`with SimulatorThread(config) as sim:` serves from a daemon thread. The Simulator's test
    helpers (touch, truth, set_updated_at, reset_stats, config changes) are safe from any thread."""

    def __init__(self, config: SimConfig | None = None, *, clock: Clock | None = None, port: int = 0) -> None:
        self.simulator = Simulator(config, clock=clock)
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> Simulator:
        self._thread = threading.Thread(target=self._serve, name="xurrent-simulator", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise RuntimeError("the simulator did not start") from self._error
        return self.simulator

    def _serve(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            runner = loop.run_until_complete(start(self.simulator, self._port))
        except BaseException as exc:  # reported to start() in the caller's thread
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
