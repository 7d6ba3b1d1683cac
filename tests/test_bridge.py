"""The bridge: events cross threads in order, failures surface in the caller, nothing hangs."""

import asyncio
import sys
import threading
import time

import pytest

from xurrent_async.bridge import Bridge
from xurrent_async.events import Failed, Finished, Rows


def test_events_arrive_in_order_and_end_with_finished():
    async def produce(emit):
        for i in range(500):
            await emit(Rows("products", [{"id": i}]))

    with Bridge(produce, maxsize=4) as bridge:
        events = list(bridge.events())
    assert [e.rows[0]["id"] for e in events[:-1]] == list(range(500))
    assert isinstance(events[-1], Finished)
    assert not bridge.alive


def test_a_worker_error_reaches_the_caller_with_its_cause():
    async def produce(emit):
        await emit(Rows("products", [{"id": 1}]))
        raise ConnectionError("HTTP 502 from Xurrent for /v1/products")

    with Bridge(produce, maxsize=2) as bridge:
        events = list(bridge.events())
    assert isinstance(events[-1], Failed)
    assert "HTTP 502" in str(events[-1].error)


def test_leaving_early_cancels_and_joins_a_worker_blocked_on_a_full_queue():
    cancelled = threading.Event()

    async def produce(emit):
        try:
            for i in range(10**9):
                await emit(Rows("products", [{"id": i}]))
        except asyncio.CancelledError:
            cancelled.set()
            raise

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="consumer failed"), Bridge(produce, maxsize=2) as bridge:
        for event in bridge.events():
            if event.rows[0]["id"] == 10:
                raise RuntimeError("consumer failed")
    assert cancelled.is_set()
    assert not bridge.alive
    assert time.monotonic() - started < 10  # a generous bound: the point is that it returns at all


def test_the_worker_runs_on_another_thread_than_the_caller():
    seen: list[int] = []

    async def produce(emit):
        seen.append(threading.get_ident())
        await emit(Rows("products", []))

    with Bridge(produce, maxsize=1) as bridge:
        list(bridge.events())
    assert seen and seen[0] != threading.get_ident()


def test_while_no_event_comes_the_caller_is_called_idle_on_its_own_thread():
    release = threading.Event()
    idle_threads: list[str] = []

    def idle() -> None:
        idle_threads.append(threading.current_thread().name)
        release.set()  # the worker may go on once the caller has been told it is idle

    async def produce(emit):
        await emit(Rows("products", [{"id": 1}]))
        await asyncio.to_thread(release.wait, 10)  # as a worker waiting for its quota would
        await emit(Rows("products", [{"id": 2}]))

    with Bridge(produce, maxsize=2) as bridge:
        events = list(bridge.events(idle=idle))
    assert [e.rows[0]["id"] for e in events[:-1]] == [1, 2] and isinstance(events[-1], Finished)
    assert idle_threads and set(idle_threads) == {threading.current_thread().name}


class _CountingLoop:
    """A loop whose cross-thread wake-ups are counted: what HandOff costs the loop's thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self.wakeups = 0

    def call_soon_threadsafe(self, callback, *args):
        self.wakeups += 1
        return self._loop.call_soon_threadsafe(callback, *args)


def _start_loop() -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    return loop, thread


def test_the_caller_takes_queued_events_without_waking_the_loop():
    loop, thread = _start_loop()
    counting = _CountingLoop(loop)
    try:
        handoff = asyncio.run_coroutine_threadsafe(_make_handoff(8, counting), loop).result(5)
        for i in range(8):
            asyncio.run_coroutine_threadsafe(handoff.put(Rows("products", [{"id": i}])), loop).result(5)
        taken = [handoff.get(5) for _ in range(8)]
        assert [e.rows[0]["id"] for e in taken] == list(range(8))
        assert counting.wakeups == 0
        assert handoff.get(0.01) is None  # nothing queued: None once the timeout passes
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def test_writers_on_a_full_queue_are_woken_once_it_drained_to_half():
    loop, thread = _start_loop()
    counting = _CountingLoop(loop)
    try:
        handoff = asyncio.run_coroutine_threadsafe(_make_handoff(8, counting), loop).result(5)

        async def produce() -> None:
            for i in range(200):
                await handoff.put(Rows("products", [{"id": i}]))

        done = asyncio.run_coroutine_threadsafe(produce(), loop)
        ids = []
        while len(ids) < 200:
            event = handoff.get(5)
            assert event is not None, "the writer was never woken"
            ids.append(event.rows[0]["id"])
        done.result(5)
        assert ids == list(range(200))
        # A wake-up per event taken would be ~190; each wake-up follows at least 4 events taken.
        assert 1 <= counting.wakeups <= 200 // 4
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


async def _make_handoff(maxsize, loop):
    from xurrent_async.bridge import HandOff

    return HandOff(maxsize, loop)


def test_the_switch_interval_is_raised_while_the_bridge_runs_and_restored_after():
    from xurrent_async.bridge import SWITCH_INTERVAL

    before = sys.getswitchinterval()
    seen: list[float] = []

    async def produce(emit):
        seen.append(sys.getswitchinterval())
        raise ConnectionError("the sync fails")

    with pytest.raises(RuntimeError, match="consumer failed"), Bridge(produce, maxsize=2) as bridge:
        for event in bridge.events():
            assert isinstance(event, Failed)
            raise RuntimeError("consumer failed")
    assert seen == [pytest.approx(max(before, SWITCH_INTERVAL))]  # stored in microseconds
    assert sys.getswitchinterval() == pytest.approx(before)
