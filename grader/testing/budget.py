"""A host-side time budget for a test: CPU seconds the grader spends on one test's own work.

Tests run on the host, in the grader's process, and some of their work is sized by the student
(a finite-difference check over every weight the notebook returns, a metric over a model's
predictions). Size caps come first (refuse values larger than the assignment can need); the
budget is the generic backstop: past it the test fails with :class:`BudgetExceeded`, the next
test runs and the batch goes on.

Every test gets a budget (the assignment's ``cell_timeout`` unless marked otherwise)::

    @pytest.mark.points(1, component="mlp")
    @pytest.mark.budget(20)           # this test may use 20 s of the grader's CPU
    def test_gradients(nb): ...

and a test can bound one step more tightly::

    from grader.testing.budget import time_budget

    with time_budget(5, what="the finite-difference check"):
        numeric = finite_differences(loss, weights)

The budget is measured in CPU time of the grader process (``ITIMER_PROF``): waiting for the
kernel costs nothing (calls into the kernel have their own time limit), work on the host does.
It acts between Python bytecodes, so a single long C call (one huge matrix product) ends first:
keep size caps on what a test computes.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class BudgetExceeded(AssertionError):
    """A test's host-side work ran past its CPU budget (the test fails)."""

    def __init__(self, seconds: float, what: str) -> None:
        super().__init__(
            f"{what} used more than {seconds:g} s of the grader's CPU and was stopped; "
            "are the notebook's values (sizes, counts) far larger than the assignment asks?"
        )
        self.seconds = seconds
        self.what = what


_active: list[tuple[float, float, str]] = []
"""Budgets in force: (CPU time at which each ends, its seconds, what it covers)."""


@contextmanager
def time_budget(seconds: float, *, what: str = "this check") -> Iterator[None]:
    """Raise :class:`BudgetExceeded` once the body has used ``seconds`` of CPU (main thread
    only; elsewhere it does nothing). Budgets nest: the one that ends first decides."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return
    _active.append((time.process_time() + seconds, seconds, what))
    previous = signal.signal(signal.SIGPROF, _expired) if len(_active) == 1 else None
    _arm()
    try:
        yield
    finally:
        _active.pop()
        _arm()
        if previous is not None:
            signal.signal(signal.SIGPROF, previous)


def _arm() -> None:
    """Set the profiling timer to the nearest budget's end (or off when none is left)."""
    if not _active:
        signal.setitimer(signal.ITIMER_PROF, 0)
        return
    ends = min(end for end, _, _ in _active)
    signal.setitimer(signal.ITIMER_PROF, max(0.001, ends - time.process_time()))


def _expired(signum: int, frame: FrameType | None) -> None:
    if not _active:  # a signal that raced the end of the last budget
        return
    _, seconds, what = min(_active)
    raise BudgetExceeded(seconds, what)
