"""pytest plugin of this suite: no automatic garbage collection inside a parse (CPython 3.11.0-7).

pytest parses test sources (assertion rewriting, failure reports), and this suite runs kernels
and their clients in process, whose objects may be finalized at any allocation. On interpreters
with CPython's shared AST recursion depth (see ``pipeline/parsing.py``) a finalizer that formats a
traceback inside such a parse made pytest fail with ``INTERNALERROR ... SystemError: AST
constructor recursion depth mismatch``. So automatic collection is held for the whole session,
and the garbage is collected between tests, where nothing parses, as often as CPython would.
"""

from __future__ import annotations

import gc
from contextlib import ExitStack

import pytest

from grader.pipeline.parsing import collection_held

_HELD = pytest.StashKey[ExitStack]()


def pytest_configure(config: pytest.Config) -> None:
    stack = ExitStack()
    stack.enter_context(collection_held())
    config.stash[_HELD] = stack


def pytest_unconfigure(config: pytest.Config) -> None:
    config.stash[_HELD].close()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown() -> None:
    collect_if_due()


def collect_if_due() -> None:
    """The collection CPython's thresholds call for by now, if automatic collection is off."""
    if gc.isenabled():
        return
    counts, thresholds = gc.get_count(), gc.get_threshold()
    due = [g for g in (2, 1, 0) if thresholds[g] and counts[g] >= thresholds[g]]
    if due:
        gc.collect(due[0])
