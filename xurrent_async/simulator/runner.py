"""Ways to run a Simulator: in the current event loop, or in a daemon thread with its own loop
(for synchronous callers: a connector run in a subprocess, the demo, the benchmark)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType

from .clock import Clock
from .config import SimConfig
from .server import Simulator


@asynccontextmanager
async def running_simulator(
    config: SimConfig | None = None, *, clock: Clock | None = None, port: int = 0
) -> AsyncIterator[Simulator]:
    """Serve on 127.0.0.1 (an ephemeral port by default) in the running loop."""
    sim = Simulator(config, clock=clock)
    await sim.start(port)
    try:
        yield sim
    finally:
        await sim.stop()


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
            loop.run_until_complete(self.simulator.start(self._port))
        except BaseException as exc:  # reported to start() in the caller's thread
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self.simulator.stop())
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
