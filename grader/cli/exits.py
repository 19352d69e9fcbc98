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
from rich.text import Text

from grader.cli import console
from grader.core.errors import GraderError
from grader.report.safe import text


class ExitCode(IntEnum):
    OK = 0
    NOT_GOOD = 1
    CANNOT_RUN = 2
    INTERRUPTED = 130


def leave(code: ExitCode) -> NoReturn:
    raise typer.Exit(int(code))


def fail(exc: GraderError) -> NoReturn:
    """Say what went wrong and what to do, then exit with :attr:`ExitCode.CANNOT_RUN`."""
    # the message may name a student's file: printed as text, never as markup or escapes
    console.err.print(Text.assemble(("error: ", "bold red"), text(exc.message)))
    if exc.hint:
        console.err.print(Text.assemble("  → ", text(exc.hint)))
    leave(ExitCode.CANNOT_RUN)


@contextmanager
def reported() -> Iterator[None]:
    """``with reported():`` around a command's work: a GraderError is :func:`fail`."""
    try:
        yield
    except GraderError as exc:
        fail(exc)
