"""Ctrl-C (SIGINT) as a request to stop at the next safe point, not an exception in the middle of
whatever the SDK's thread was doing (an upsert, a checkpoint's transaction).

The first Ctrl-C sets an event the sync checks between operations: it saves what it has read and
ends with one message. A second Ctrl-C interrupts at once, as Python always does. Signal handlers
exist only on the main thread: elsewhere (as on Fivetran, where nobody presses Ctrl-C) this does
nothing.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


@contextlib.contextmanager
def stop_on_interrupt() -> Iterator[threading.Event]:
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:  # installed outside Python: give back Python's own
        previous = signal.default_int_handler

    def first_interrupt(signum: int, frame: FrameType | None) -> None:
        # Nothing printed here: a print from a signal handler can break one in progress.
        stop.set()
        signal.signal(signal.SIGINT, previous)  # the next Ctrl-C stops at once

    signal.signal(signal.SIGINT, first_interrupt)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
