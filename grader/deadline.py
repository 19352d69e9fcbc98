"""An overall wall-clock limit for grading one submission in this process (``grade check``).

Grading is bounded piece by piece (each cell, each call into the kernel, each test's host-side
work); this is the last line: whatever stalls, the command ends. When the limit passes,
:class:`DeadlineExceeded` is raised in the main thread. It is a ``KeyboardInterrupt``, so pytest,
nbclient and the sandbox's context managers stop and clean up exactly as they do for Ctrl-C.
Code stuck inside one C call never sees it: ``grace`` seconds later a watchdog thread calls
``hard_stop`` (which must remove what grading started) and ends the process.

A batch does not use this: its parent kills a worker that overruns (``grader.batch.runner``).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

HARD_STOP_EXIT = 124
"""Exit status after a hard stop (as coreutils' ``timeout``)."""


class DeadlineExceeded(KeyboardInterrupt):
    """Grading ran past its overall limit (raised in the main thread)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"grading ran past its overall limit of {seconds:g} s")
        self.seconds = seconds


@contextmanager
def deadline(
    seconds: float, *, hard_stop: Callable[[], None] | None = None, grace: float = 15.0
) -> Iterator[None]:
    """Limit the body to ``seconds`` of wall time (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    expired = threading.Event()
    done = threading.Event()

    def alarm(signum: int, frame: FrameType | None) -> None:
        expired.set()
        raise DeadlineExceeded(seconds)

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    watchdog = _Watchdog(seconds + grace, done, hard_stop)
    watchdog.start()
    try:
        yield
    except KeyboardInterrupt:
        if expired.is_set():  # pytest or nbclient turned it into a plain interrupt
            raise DeadlineExceeded(seconds) from None
        raise
    finally:
        done.set()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _Watchdog(threading.Thread):
    def __init__(
        self, after: float, done: threading.Event, hard_stop: Callable[[], None] | None
    ) -> None:
        super().__init__(name="grading-deadline", daemon=True)
        self.after, self.done, self.hard_stop = after, done, hard_stop

    def run(self) -> None:
        if self.done.wait(self.after):
            return
        try:
            if self.hard_stop is not None:
                self.hard_stop()
        finally:
            os._exit(HARD_STOP_EXIT)
