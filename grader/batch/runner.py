"""Grade a class: plan (intake, cache), run the jobs on a pool of workers, keep every result.

The parent never runs student code: it reads the class, decides what the cache already has,
hands jobs to worker processes and writes only verdicts that need no grading (duplicates,
missing files) and grader errors for workers that died.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from grader.batch.cache import assignment_fingerprint, cache_key, submission_digest
from grader.batch.events import (
    CellProgress,
    EventHook,
    Finished,
    Outcome,
    Planned,
    Started,
    Stopping,
    ignore,
)
from grader.batch.gpus import GpuSlots
from grader.batch.intake import Entry, read_class, student_id
from grader.batch.lock import BatchLock
from grader.batch.pool import Pool, Worker, become_subreaper
from grader.batch.store import BatchInfo, Store
from grader.batch.worker import (
    RECYCLE_AFTER,
    Done,
    Job,
    WorkerConfig,
    grader_error,
    record_for,
)
from grader.errors import GraderError
from grader.results import GradeResult, Status
from grader.sandbox.choose import Backend, make_sandbox
from grader.spec import Assignment

GRADED_STATUSES = (Status.GRADED, Status.MISSING_NAMES)
ABORT_AFTER = 3
"""Stop when this many first results of a run are all grader errors (e.g. Docker is down)."""


@dataclass(frozen=True)
class BatchOptions:
    backend: Backend = Backend.DOCKER
    jobs: int | None = None
    """Worker processes; None = by cores, memory and the spec's needs."""
    hidden: bool = True
    force: bool = False
    only: tuple[str, ...] = ()
    """Students to regrade (always regraded); the rest of the class is left as stored."""
    manifest: Path | None = None
    gpus: tuple[str, ...] = ()
    per_gpu: int = 1
    max_jobs_per_worker: int = RECYCLE_AFTER
    """Recycle a worker after this many submissions (a defence, see ``RECYCLE_AFTER``)."""
    hard_timeout: float | None = None
    """Seconds after which a worker still grading one submission is killed; None = from spec."""
    worker_memory_mb: int | None = None
    """Resident memory past which a worker (the grader's side, not the kernel) is killed and
    its submission recorded as a grader error; None = :func:`default_worker_memory`."""
    retry_errors: bool = False
    """Regrade stored grader errors that a rerun otherwise keeps (stalls)."""


@dataclass
class BatchSummary:
    total: int = 0
    graded: int = 0
    failed: int = 0
    cached: int = 0
    workers: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    aborted: str = ""
    not_finished: list[str] = field(default_factory=list)
    grader_errors: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def default_workers(spec: Assignment, *, gpus: int = 0) -> int:
    """By cores (the spec's ``cpus`` each) and memory (``memory_mb`` each + the grader's)."""
    cores = os.cpu_count() or 1
    by_cpu = max(1, math.floor(cores / max(1.0, spec.resources.cpus)))
    try:
        total_mb = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20
    except (ValueError, OSError, AttributeError):
        total_mb = 0
    by_mem = max(1, total_mb // (spec.resources.memory_mb + 300)) if total_mb else by_cpu
    return max(1, min(by_cpu, by_mem, 64))


def default_worker_memory(spec: Assignment) -> int:
    """MiB a grading worker may hold: ample for the grader and an assignment's tests; far
    below what a runaway host-side read or computation reaches."""
    return max(4096, 2 * spec.resources.memory_mb)


def hard_limit(spec: Assignment) -> float:
    """Wall-clock seconds after which a worker grading one submission is presumed stuck."""
    return spec.resources.grading_limit


def run_batch(
    spec: Assignment,
    submissions: Path,
    *,
    out: Path,
    options: BatchOptions,
    on_event: EventHook = ignore,
) -> BatchSummary:
    """Grade every submission of ``submissions`` into ``out``; see docs/batch.md."""
    with BatchLock(out):
        return _Batch(spec, submissions, out, options, on_event).run()


class _Batch:
    def __init__(
        self,
        spec: Assignment,
        submissions: Path,
        out: Path,
        options: BatchOptions,
        on_event: EventHook,
    ) -> None:
        self.spec, self.submissions, self.options, self.emit = spec, submissions, options, on_event
        self.store = Store(out)
        self.summary = BatchSummary()
        self.run_id = uuid.uuid4().hex[:12]
        self.started = time.monotonic()
        self.gpus = GpuSlots(list(options.gpus), options.per_gpu)
        self.errors_in_a_row = 0

    # ------------------------------------------------------------------ plan
    def run(self) -> BatchSummary:
        if self.spec.resources.gpu == "required" and not self.options.gpus:
            raise GraderError(
                f"assignment '{self.spec.id}' requires a GPU",
                hint="pass --gpus 0 (or 0,1,...) with --per-gpu K",
            )
        self.store.save_info(BatchInfo.of(self.spec))
        intake = read_class(
            self.submissions, manifest=self.options.manifest, scratch=self.store.state()
        )
        self.summary.ignored = intake.ignored
        entries = self._selected(intake.entries)
        fingerprint = assignment_fingerprint(self.spec)
        jobs = self._plan(entries, fingerprint)
        workers = min(self.options.jobs or default_workers(self.spec), max(1, len(jobs)))
        if self._needs_gpu:
            workers = min(workers, self.gpus.capacity)
        self.summary.total, self.summary.workers = len(entries), workers if jobs else 0
        self.emit(
            Planned(
                total=len(entries),
                cached=self.summary.cached,
                to_grade=len(jobs) + self._verdicts,
                workers=workers if jobs else 0,
            )
        )
        self._write_verdicts()
        if jobs:
            self._preflight()
            self._grade(deque(jobs), workers)
        self.summary.seconds = time.monotonic() - self.started
        return self.summary

    def _selected(self, entries: list[Entry]) -> list[Entry]:
        if not self.options.only:
            return entries
        wanted = {student_id(s) for s in self.options.only}
        known = {e.student for e in entries}
        unknown = sorted(wanted - known)
        if unknown:
            shown = ", ".join(sorted(known)[:20]) or "none"
            raise GraderError(
                f"no submission for {', '.join(unknown)} in {self.submissions}",
                hint=f"students found: {shown}",
            )
        return [e for e in entries if e.student in wanted]

    def _plan(self, entries: list[Entry], fingerprint: str) -> list[Job]:
        jobs: list[Job] = []
        self._pending_verdicts: list[tuple[Entry, str]] = []
        force = self.options.force or bool(self.options.only)
        for entry in entries:
            self.store.clean_temporaries(entry.student)
            key = self._key(entry, fingerprint)
            retry = self.options.retry_errors
            if not force and self.store.cached(entry.student, key, retry_errors=retry):
                self._cached(entry)
            elif entry.verdict is not None or entry.source is None:
                self._pending_verdicts.append((entry, key))
            else:
                jobs.append(
                    Job(
                        student=entry.student,
                        source=entry.source.resolve(),
                        key=key,
                        submitted_at=entry.submitted_at,
                        time_from=entry.time_from,
                    )
                )
        return jobs

    @property
    def _verdicts(self) -> int:
        return len(self._pending_verdicts)

    def _key(self, entry: Entry, fingerprint: str) -> str:
        if entry.verdict is not None or entry.source is None:
            what = f"verdict:{entry.verdict}:{entry.message}"
        else:
            what = submission_digest(entry.source)
        return cache_key(
            submission=what,
            assignment=fingerprint,
            hidden=self.options.hidden,
            submitted_at=entry.submitted_at,
        )

    def _cached(self, entry: Entry) -> None:
        self.summary.cached += 1
        stored = self.store.load(entry.student)
        assert stored is not None
        r = stored.result
        if r.status is Status.GRADER_ERROR:  # a stall kept from an earlier run
            self.summary.grader_errors.append(entry.student)
        self.emit(Finished(entry.student, Outcome.CACHED, r.status, r.points, r.max_points))

    def _write_verdicts(self) -> None:
        for entry, key in self._pending_verdicts:
            assert entry.verdict is not None
            result = GradeResult(
                assignment=self.spec.id,
                assignment_version=self.spec.version,
                submission=", ".join(str(p) for p in entry.sources) or str(entry.source or ""),
                status=entry.verdict,
                message=entry.message,
                max_points=self.spec.max_points,
                hidden_included=self.options.hidden,
            )
            job = Job(
                student=entry.student,
                source=entry.source or Path(),
                key=key,
                submitted_at=entry.submitted_at,
                time_from=entry.time_from,
            )
            self._store(job, result)
            self.summary.failed += 1
            self.emit(
                Finished(
                    entry.student,
                    Outcome.FAILED,
                    result.status,
                    0.0,
                    result.max_points,
                    message=result.message,
                )
            )

    def _preflight(self) -> None:
        """Fail once, before grading, when the sandbox cannot work at all (each worker checks
        that the tests can be collected when it starts)."""
        make_sandbox(self.options.backend)
        if self.options.backend is Backend.DOCKER:
            _docker_ready(gpu=bool(self.options.gpus) and self.spec.resources.gpu != "none")

    # ------------------------------------------------------------------ run
    def _grade(self, pending: deque[Job], size: int) -> None:
        config = WorkerConfig(
            assignment=self.spec.root,
            backend=self.options.backend,
            hidden=self.options.hidden,
            out=self.store.out,
            log=self.store.state() / "worker.log",
        )
        subreaper = become_subreaper(True)
        previous = _stop_on_sigterm()
        pool = Pool(config, size, max_jobs=self.options.max_jobs_per_worker)
        try:
            self._loop(pool, pending)
        except KeyboardInterrupt:
            self._interrupt(pool, pending)
        else:
            pool.shutdown(grace=10)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            if subreaper:
                become_subreaper(False)

    def _loop(self, pool: Pool, pending: deque[Job]) -> None:
        limit = self.options.hard_timeout or hard_limit(self.spec)
        memory = self.options.worker_memory_mb or default_worker_memory(self.spec)
        while (pending or pool.busy()) and not self.summary.aborted:
            self._dispatch(pool, pending)
            for worker, msg in pool.poll(0.5):
                self._handle(pool, worker, msg, pending)
            for worker in pool.busy():
                if time.monotonic() - worker.since > limit:
                    self._stop(pool, worker, f"grading took longer than {limit:g} s")
                elif worker.rss_mb() > memory:
                    self._stop(pool, worker, f"grading used more than {memory} MiB on the host")
        if self.summary.aborted:
            self.summary.not_finished += [j.student for j in pending]
            self.summary.not_finished += [w.job.student for w in pool.busy() if w.job]

    @property
    def _needs_gpu(self) -> bool:
        """GPUs were given and the spec may use one: each submission holds a GPU slot."""
        return self.spec.resources.gpu != "none" and self.gpus.capacity > 0

    def _dispatch(self, pool: Pool, pending: deque[Job]) -> None:
        needs_gpu = self._needs_gpu
        for worker in pool.idle():
            if not pending:
                return
            gpu = self.gpus.acquire() if needs_gpu else None
            if needs_gpu and gpu is None:
                return
            job = pending.popleft()
            job = replace(job, gpu=gpu)
            worker.give(job)
            self.emit(Started(job.student, worker.slot, gpu))

    def _handle(
        self, pool: Pool, worker: Worker, msg: tuple[object, ...], pending: deque[Job]
    ) -> None:
        kind = msg[0]
        job = worker.job
        if kind == "cell" and job is not None:
            self.emit(CellProgress(job.student, worker.slot, int(msg[1]), int(msg[2])))  # type: ignore[call-overload]
        elif kind == "done" and job is not None:
            done = msg[1]
            assert isinstance(done, Done)
            self._release(worker)
            if done.status is Status.GRADER_ERROR and job.attempt < 2:
                self._retry(job, done.message, pending)
            else:
                self._finished(job, done, worker.slot)
            pool.retire_if_worn(worker)
        elif kind == "died":
            self._died(pool, worker, msg[1], pending)
        elif kind == "broken":
            self.summary.aborted = str(msg[1])
            if job is not None:
                pending.appendleft(job)
                self._release(worker)

    def _retry(self, job: Job, reason: str, pending: deque[Job]) -> None:
        """Grader errors are mostly transient (a kernel that failed to start): once more."""
        self.store.log(
            {
                "run": self.run_id,
                "student": job.student,
                "outcome": "retry",
                "attempt": job.attempt,
                "message": reason,
            }
        )
        pending.appendleft(replace(job, attempt=job.attempt + 1, gpu=None))

    def _release(self, worker: Worker) -> None:
        if worker.job is not None and worker.job.gpu is not None:
            self.gpus.release(worker.job.gpu)
        worker.job = None

    def _finished(self, job: Job, done: Done, slot: int) -> None:
        outcome = Outcome.GRADED if done.status in GRADED_STATUSES else Outcome.FAILED
        self.summary.graded += outcome is Outcome.GRADED
        self.summary.failed += outcome is Outcome.FAILED
        if done.status is Status.GRADER_ERROR:
            self.summary.grader_errors.append(job.student)
            self.errors_in_a_row += 1
            if self.errors_in_a_row >= ABORT_AFTER and self.summary.graded == 0:
                self.summary.aborted = done.message or f"grader error on {job.student}"
        else:
            self.errors_in_a_row = 0
        self.store.log(
            {
                "run": self.run_id,
                "student": job.student,
                "outcome": outcome.value,
                "status": done.status.value,
                "points": done.points,
                "seconds": round(done.seconds, 3),
                "attempt": job.attempt,
                **({"message": done.message} if outcome is Outcome.FAILED else {}),
                "at": datetime.now().astimezone().isoformat(timespec="seconds"),
            }
        )
        self.emit(
            Finished(
                job.student,
                outcome,
                done.status,
                done.points,
                done.max_points,
                done.seconds,
                slot,
                done.message,
            )
        )

    def _died(self, pool: Pool, worker: Worker, exitcode: object, pending: deque[Job]) -> None:
        job = worker.job
        self._release(worker)
        pool.reap()
        if self.summary.aborted:
            return
        pool.replace(worker)
        if job is None:
            return
        if job.attempt < 2:
            self._retry(job, f"worker died (exit code {exitcode})", pending)
            return
        self._fail(job, f"its worker process died twice (exit code {exitcode})", worker.slot)

    def _stop(self, pool: Pool, worker: Worker, why: str) -> None:
        """A job that overran: its worker is killed with its kernel and container, at once."""
        job = worker.job
        seconds = time.monotonic() - worker.since
        worker.kill()
        self._release(worker)
        pool.reap()
        pool.replace(worker)
        if job is not None:
            self._fail(job, f"{why} and was stopped", worker.slot, seconds)

    def _fail(self, job: Job, message: str, slot: int, seconds: float = 0.0) -> None:
        """A stall: recorded as a grader error that the next run keeps (``sticky``)."""
        result = grader_error(self.spec, job.source, message, student=job.student)
        self._store(job, result, seconds, sticky=True)
        done = Done(job.student, result.status, 0.0, result.max_points, seconds, result.message)
        self._finished(job, done, slot)

    def _store(
        self, job: Job, result: GradeResult, seconds: float = 0.0, *, sticky: bool = False
    ) -> None:
        """Keep a verdict the parent reached without a worker's result."""
        record = record_for(job, seconds, self.options.backend.value, sticky=sticky)
        self.store.save(job.student, result, record)

    def _interrupt(self, pool: Pool, pending: deque[Job]) -> None:
        self.summary.interrupted = True
        running = [w.job for w in pool.busy() if w.job is not None]
        self.emit(Stopping(running=len(running)))
        finished = set()
        for worker, msg in pool.shutdown(grace=20):
            if msg[0] == "done" and worker.job is not None:
                done = msg[1]
                assert isinstance(done, Done)
                finished.add(done.student)
                self._finished(worker.job, done, worker.slot)
        self.summary.not_finished = [j.student for j in running if j.student not in finished]
        self.summary.not_finished += [j.student for j in pending]


def _stop_on_sigterm() -> signal.Handlers | Callable[..., object] | int | None:
    """SIGTERM (a CI job cancelled, ``kill``) stops the batch like Ctrl-C does; returns the
    previous handler (None when not in the main thread, where signals cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, stop)


def _docker_ready(*, gpu: bool) -> None:
    """The Docker checks of `grade doctor` that grading needs, before any worker starts."""
    from grader.doctor import check_cli, check_engine, check_image
    from grader.sandbox.docker import docker_host

    checks = [check_cli()]
    engine, client = check_engine(host=docker_host())
    checks.append(engine)
    if client is not None:
        checks.append(check_image(client, gpu=gpu))
    for check in checks:
        if not check.ok and check.required:
            raise GraderError(
                f"the docker sandbox cannot run: {check.name}: {check.detail}",
                hint=f"{check.fix}; or see `grade doctor`",
            )
