"""Parsing Python source without CPython 3.11's AST constructor race.

CPython 3.11.0 to 3.11.7 keep the AST constructor's recursion depth in state that the whole
interpreter shares (CPython gh-106905, fixed in 3.11.8 by python/cpython#113476). The constructor
runs no Python code of its own, except when one of its allocations starts a garbage collection:
the finalizers that collection runs are Python code. When one of them parses source too, or hands
the GIL to a thread that does, the shared depth is reset under the first parse, which then fails
with ``SystemError: AST constructor recursion depth mismatch`` for a tree it built correctly. On
3.11 formatting a traceback parses source (``traceback`` computes its caret lines with
``ast.parse``), so a finalizer that logs an exception is enough: asyncio's "Task exception was
never retrieved" is one.

Holding automatic collection off while source is parsed closes the window: nothing then runs
inside the constructor, so no other parse can start. :func:`collection_held` does that on the
affected releases and nothing elsewhere (from 3.12 a collection only starts between bytecodes).
"""

from __future__ import annotations

import ast
import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

AST_RACE = (3, 11) <= sys.version_info[:3] < (3, 11, 8)
"""Whether this interpreter has the shared AST recursion depth (CPython gh-106905)."""


class _Holds:
    """Holders across threads: collection stops with the first and resumes with the last (if it
    was on before the first)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._resume = False

    def enter(self) -> None:
        with self._lock:
            if self._count == 0:
                self._resume = gc.isenabled()
            gc.disable()  # even when held already: someone may have turned it back on
            self._count += 1

    def leave(self) -> None:
        with self._lock:
            self._count -= 1
            if self._count == 0 and self._resume:
                gc.enable()


_HOLDS = _Holds()


@contextmanager
def collection_held(*, race: bool = AST_RACE) -> Iterator[None]:
    """No automatic garbage collection inside (only where ``race``); nestable, any thread."""
    if not race:
        yield
        return
    _HOLDS.enter()
    try:
        yield
    finally:
        _HOLDS.leave()


def parse(source: str, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse`` with collection held (see the module's docstring)."""
    with collection_held():
        return ast.parse(source, filename)
