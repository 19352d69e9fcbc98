"""The grading worker: a long-lived process that grades one submission per job.

Imports, the spec and the sandbox are set up once per worker, not per submission. Each job
ends with its result written atomically by the worker itself; only a small :class:`Done`
goes back to the parent, so the parent's memory does not grow with the class.

Signals: the worker ignores SIGINT (Ctrl-C reaches the parent, which decides); SIGTERM from
the parent means "stop now": the running grading is interrupted, its sandbox cleaned up by its
context managers, and nothing is written for it.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from types import FrameType

from grader.batch.store import Record, Store
from grader.errors import GraderError
from grader.grading import Options, grade_submission
from grader.results import GradeResult, Status
from grader.sandbox.base import Sandbox
from grader.sandbox.choose import Backend, make_sandbox
from grader.spec import Assignment, load_assignment
from grader.testing.run import run_tests

RECYCLE_AFTER = 200
"""Submissions a worker grades before a fresh one replaces it. Grading releases what it creates
(tests/test_no_leaks.py); recycling stays as a cheap defence against what it cannot see: heap
fragmentation, module caches filled by tests, a leak in a future jupyter_client or pyzmq."""


@dataclass(frozen=True)
class WorkerConfig:
    """What every worker of a batch shares; sent once, when the worker starts."""

    assignment: Path
    backend: Backend
    hidden: bool
    out: Path
    log: Path | None = None
    """File the worker's stdout/stderr go to (kept out of the parent's terminal)."""
    scratch: Path | None = None
    """The worker's own temporary folder (work folders, kernel sockets): the parent removes it
    with whatever a killed worker left there."""


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


@dataclass(frozen=True)
class Done:
    """What the parent hears back: enough for progress and the summary, no more."""

    student: str
    status: Status
    points: float
    max_points: float
    seconds: float
    message: str = ""


_stopping = False


def _on_term(signum: int, frame: FrameType | None) -> None:
    global _stopping
    _stopping = True
    raise KeyboardInterrupt


class Warm:
    """Per-worker state kept between jobs."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.spec: Assignment = load_assignment(config.assignment)
        self.sandbox: Sandbox = make_sandbox(config.backend)
        self.store = Store(config.out)

    def warm_up(self) -> str:
        """Collect the tests once (pytest's imports paid before the first job); returns why
        they cannot run, or "" when they can."""
        try:
            run_tests(self.spec, bridge=None, hidden=self.config.hidden, collect_only=True)
        except GraderError as exc:
            return str(exc)
        return ""


def serve(conn: Connection, config: WorkerConfig) -> None:
    """Process entry point: take jobs from ``conn`` until told to stop or the parent goes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_term)
    _redirect_output(config.log)
    if config.scratch is not None:
        tempfile.tempdir = str(config.scratch)
    try:
        warm = Warm(config)
        broken = warm.warm_up()
        if broken:
            conn.send(("broken", broken))
            return
        gc.collect()
        gc.freeze()  # imported modules stay out of every later collection (pytest collects)
        while not _stopping:
            job = conn.recv()
            if job is None:
                break
            done = grade_job(job, warm, lambda i, n: conn.send(("cell", i, n)))
            conn.send(("stopped", job.student) if done is None else ("done", done))
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        pass


def grade_job(job: Job, warm: Warm, on_cell: object = None) -> Done | None:
    """Grade, write the result, return its summary; None when stopped midway."""
    started = time.monotonic()
    folder = warm.store.folder(job.student)
    artifacts = warm.store.artifacts(job.student)
    _clear(artifacts)
    folder.mkdir(parents=True, exist_ok=True)
    options = Options(
        sandbox=warm.sandbox,
        hidden=warm.config.hidden,
        gpus=(job.gpu,) if job.gpu else (),
        submitted_at=job.submitted_at,
        on_cell=on_cell if callable(on_cell) else None,
        artifacts=artifacts,
    )
    try:
        result = grade_submission(warm.spec, job.source, options=options)
    except Exception as exc:
        result = grader_error(warm.spec, job.source, _describe(exc))
    if _stopping:
        return None
    seconds = time.monotonic() - started
    warm.store.save(job.student, result, record_for(job, seconds, warm.sandbox.name))
    return Done(
        job.student, result.status, result.points, result.max_points, seconds, result.message[:300]
    )


def record_for(job: Job, seconds: float, backend: str, *, sticky: bool = False) -> Record:
    return Record(
        sticky=sticky,
        student=job.student,
        key=job.key,
        source=str(job.source),
        submitted_at=job.submitted_at,
        time_from=job.time_from,
        graded_at=datetime.now().astimezone(),
        seconds=round(seconds, 3),
        backend=backend,
    )


def grader_error(
    spec: Assignment, source: Path | str, message: str, *, student: str = ""
) -> GradeResult:
    """The result stored when grading itself failed (not the submission's fault).

    With ``student`` the failure is a stall (past the deadline, over the memory limit, a worker
    killed twice): a rerun keeps it instead of stalling again, until asked to retry.
    """
    again = (
        f"it is kept, not regraded by the next run (it would stall again): regrade it with "
        f"`--only {student}` or `--retry-errors`"
        if student
        else "it is regraded on the next run"
    )
    return GradeResult(
        assignment=spec.id,
        assignment_version=spec.version,
        submission=str(source),
        status=Status.GRADER_ERROR,
        message=f"the grader failed on this submission: {message}; {again}",
        max_points=spec.max_points,
    )


def _describe(exc: BaseException) -> str:
    tail = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return tail[:500]


def _clear(folder: Path) -> None:
    if folder.is_dir():
        for path in folder.iterdir():
            if path.is_file() or path.is_symlink():
                path.unlink(missing_ok=True)


def _redirect_output(log: Path | None) -> None:
    if log is None:
        return
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
