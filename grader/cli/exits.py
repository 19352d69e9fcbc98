"""Exit codes of ``grade``, and the one place an error becomes a message and an exit code.

=====  ==========================================================================
 0     done: graded (``graded`` or ``missing_names``), checks passed, reports built
 1     done, but not good: the submission was refused or stopped (invalid notebook,
       time-out, forbidden import, crash), a validation or doctor check failed, or
       some submissions of a batch hit grader errors or were not finished
 2     the command could not run: unknown assignment, broken spec, sandbox or Docker
       unavailable, output folder busy
 130   stopped with Ctrl-C (or SIGTERM); finished results are kept
=====  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum
from typing import NoReturn

import typer
from rich.markup import escape

from grader.cli import console
from grader.core.errors import GraderError


class ExitCode(IntEnum):
    OK = 0
    NOT_GOOD = 1
    CANNOT_RUN = 2
    INTERRUPTED = 130


def leave(code: ExitCode) -> NoReturn:
    raise typer.Exit(int(code))


def fail(exc: GraderError) -> NoReturn:
    """Say what went wrong and what to do, then exit with :attr:`ExitCode.CANNOT_RUN`."""
    console.err.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)
    if exc.hint:
        console.err.print(f"  → {escape(exc.hint)}", highlight=False)
    leave(ExitCode.CANNOT_RUN)


@contextmanager
def reported() -> Iterator[None]:
    """``with reported():`` around a command's work: a GraderError is :func:`fail`."""
    try:
        yield
    except GraderError as exc:
        fail(exc)
