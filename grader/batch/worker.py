"""The grading worker: a long-lived process that grades one submission per job.

Imports, the spec, the sandbox and the assignment's evaluators are set up once per worker, not
per submission. Each job ends with its result written atomically by the worker itself; only a
small :class:`~grader.batch.messages.Done` goes back to the parent, so the parent's memory does
not grow with the class. Messages on the pipe are the typed values of ``messages.py``.

Signals: the worker ignores SIGINT (Ctrl-C reaches the parent, which decides); SIGTERM from
the parent means "stop now": the running grading is interrupted, its sandbox cleaned up by its
context managers, and nothing is written for it. A worker whose parent is gone (killed, even
with SIGKILL) stops the same way, at once: it sees its end of the pipe hang up.
"""

from __future__ import annotations

import gc
import os
import select
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from types import FrameType

from grader.batch.messages import Broken, CellStarted, Done, Job, Stopped
from grader.core.errors import GraderError
from grader.core.lang import Said
from grader.core.messages import Verdicts
from grader.core.outcomes import GraderFailed
from grader.core.results import GradeResult
from grader.core.spec import Assignment, load_assignment
from grader.core.store import Record, Store
from grader.core.verdict import Findings, build_result, decide
from grader.pipeline.evaluators import Evaluators
from grader.pipeline.grading import Options, grade_submission
from grader.pipeline.testrun.run import run_tests
from grader.sandbox.base import Sandbox
from grader.sandbox.choose import Backend, make_sandbox

PARENT_GONE_GRACE = 10.0
"""Seconds a worker whose batch died has to stop cleanly before it exits regardless."""
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


_stopping = False


def _on_term(signum: int, frame: FrameType | None) -> None:
    global _stopping
    _stopping = True
    raise KeyboardInterrupt


class Warm:
    """Per-worker state kept between jobs: the spec, the sandbox, the evaluators."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.spec: Assignment = load_assignment(config.assignment)
        # reclaim: the parent did
        self.sandbox: Sandbox = make_sandbox(config.backend, many=True, reclaim=False)
        self.store = Store(config.out)
        self.evaluators = Evaluators(self.spec)

    def warm_up(self) -> str:
        """Collect the tests and build the evaluators once, before the first job (pytest's
        imports, a model to train); returns why the assignment cannot be graded, or ""."""
        try:
            run_tests(self.spec, bridge=None, hidden=self.config.hidden, collect_only=True)
            self.evaluators.build_all()
        except GraderError as exc:
            return str(exc)
        return ""


def serve(conn: Connection, config: WorkerConfig) -> None:
    """Process entry point: take jobs from ``conn`` until told to stop or the parent goes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_term)
    _stop_with_parent(conn)
    _redirect_output(config.log)
    if config.scratch is not None:
        tempfile.tempdir = str(config.scratch)
    warm: Warm | None = None
    try:
        warm = Warm(config)
        broken = warm.warm_up()
        if broken:
            conn.send(Broken(broken))
            return
        gc.collect()
        gc.freeze()  # imported modules stay out of every later collection (pytest collects)
        while not _stopping:
            job = conn.recv()
            if not isinstance(job, Job):
                break
            done = grade_job(job, warm, lambda i, n: conn.send(CellStarted(i, n)))
            conn.send(Stopped(job.student) if done is None else done)
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        pass
    finally:
        if warm is not None:  # its zygote ends now, not after this process (then as an orphan)
            warm.sandbox.close()


def _stop_with_parent(conn: Connection, grace: float = PARENT_GONE_GRACE) -> None:
    """When the parent's end of ``conn`` closes (the batch died), SIGTERM this worker, as the
    parent would; if it is still running ``grace`` s later (stuck in native code), exit. Only
    the parent holds that end, so its death is the only hang-up (Linux; elsewhere the worker
    notices at its next message)."""
    rdhup = getattr(select, "POLLRDHUP", 0)
    if not rdhup:
        return

    own = os.dup(conn.fileno())  # stays open (and its number ours) whatever becomes of conn

    def watch() -> None:
        poller = select.poll()
        poller.register(own, rdhup)
        while not poller.poll():
            pass
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def grade_job(
    job: Job, warm: Warm, on_cell: Callable[[int, int], None] | None = None
) -> Done | None:
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
        on_cell=on_cell,
        artifacts=artifacts,
        evaluators=warm.evaluators,
    )
    spec = job.spec or warm.spec
    try:
        result = grade_submission(spec, job.source, options=options)
    except Exception as exc:
        result = grader_error(spec, job.source, _describe(exc))
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
    spec: Assignment, source: Path | str, detail: str | Said, *, student: str = ""
) -> GradeResult:
    """The result stored when grading itself failed (not the submission's fault).

    With ``student`` the failure is a stall (past the deadline, over the memory limit, a worker
    killed twice): a rerun keeps it instead of stalling again, until asked to retry.
    """
    phrase = Verdicts.grader_failed_kept if student else Verdicts.grader_failed
    failed = GraderFailed(Said.of(phrase, detail=detail, student=student))
    verdict = decide(Findings(failed=failed), spec.language)
    return build_result(spec, submission=str(source), verdict=verdict, hidden=False)


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
