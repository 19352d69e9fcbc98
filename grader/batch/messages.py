"""What the batch parent and its workers say to each other over a pipe: typed, frozen values.

Parent → worker: a :class:`Job`, or :class:`Shutdown`. Worker → parent: :class:`CellStarted`
while a notebook runs, :class:`Done` when a result is written, :class:`Stopped` when SIGTERM
interrupted a job, :class:`Broken` when the worker cannot grade at all (the assignment's tests
cannot be collected). The pool adds :class:`Died` for a worker process that is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from grader.core.results import Status
from grader.core.spec import Assignment


@dataclass(frozen=True)
class Job:
    """One submission to grade."""

    student: str
    source: Path
    key: str
    submitted_at: datetime | None = None
    time_from: str = ""
    gpu: str | None = None
    attempt: int = 1
    spec: Assignment | None = None
    """The spec to grade this job under instead of the worker's (``grade validate``'s samples
    with shorter limits); None for every job of a class."""


@dataclass(frozen=True)
class Shutdown:
    """No more jobs: finish and exit."""


@dataclass(frozen=True)
class CellStarted:
    """The worker's notebook is about to run cell ``index`` of ``total``."""

    index: int
    total: int


@dataclass(frozen=True)
class Done:
    """A result is written; enough for progress and the summary, no more."""

    student: str
    status: Status
    points: float
    max_points: float
    seconds: float
    message: str = ""


@dataclass(frozen=True)
class Stopped:
    """SIGTERM stopped the job midway; nothing was written for it."""

    student: str


@dataclass(frozen=True)
class Broken:
    """The worker cannot grade this assignment at all; ``reason`` says why."""

    reason: str


@dataclass(frozen=True)
class Died:
    """The worker process is gone (made by the pool, never sent)."""

    exitcode: int | None


ToWorker = Job | Shutdown
FromWorker = CellStarted | Done | Stopped | Broken
Message = FromWorker | Died
"""What the parent hears about a worker."""
