"""The scheduler of a batch: runs planned jobs on a pool of worker processes.

It hands jobs to idle workers (each holding a GPU slot when the assignment may use one),
hears what workers say (typed messages), retries a grader error or a dead worker once, kills a
worker stuck past the hard limit, stops when the first results are all grader errors (Docker
down), and on Ctrl-C or SIGTERM stops the running jobs. What happens to results (stored,
counted, logged) is the runner's: the scheduler reports through :class:`Hooks`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from grader.batch.events import GRADED_STATUSES, CellProgress, EventHook, Started, Stopping
from grader.batch.gpus import GpuSlots
from grader.batch.messages import Broken, CellStarted, Died, Done, Job, Message
from grader.batch.pool import Pool, Worker
from grader.core.lang import Said
from grader.core.messages import Verdicts
from grader.core.results import Status

ABORT_AFTER = 3
"""Stop when this many first results of a run are all grader errors (e.g. Docker is down)."""


@dataclass(frozen=True)
class Hooks:
    """How the scheduler tells the runner what happened."""

    finished: Callable[[Job, Done, int], None]
    """A job's result is stored (by its worker, or by ``fail``); with the worker's slot."""
    fail: Callable[[Job, Said, float], Done]
    """Store a grader error (a stall) for a job no worker could finish, with the seconds it
    ran; returns what a worker would."""
    retried: Callable[[Job, str], None]
    """A job is put back once more (a grader error, a dead worker)."""
    emit: EventHook


@dataclass(frozen=True)
class Limits:
    """What one job may take before its worker is killed (with its kernel and container)."""

    seconds: float
    memory_mb: int
    """Resident memory of the worker (the grader's side; the kernel has its own limits)."""


@dataclass
class Ending:
    """How the run of the jobs ended."""

    interrupted: bool = False
    aborted: str = ""
    not_finished: list[str] = field(default_factory=list)


class Scheduler:
    def __init__(
        self, pool: Pool, *, gpus: GpuSlots, needs_gpu: bool, limits: Limits, hooks: Hooks
    ) -> None:
        self.pool, self.gpus, self.needs_gpu = pool, gpus, needs_gpu
        self.limits, self.hooks = limits, hooks
        self.ending = Ending()
        self.graded = 0
        self.errors_in_a_row = 0

    def run(self, jobs: Iterable[Job]) -> Ending:
        pending = deque(jobs)
        try:
            self._loop(pending)
        except KeyboardInterrupt:
            self._interrupt(pending)
        else:
            self.pool.shutdown(grace=10)
        return self.ending

    def _loop(self, pending: deque[Job]) -> None:
        while (pending or self.pool.busy()) and not self.ending.aborted:
            self._dispatch(pending)
            for worker, msg in self.pool.poll(0.5):
                self._handle(worker, msg, pending)
            for worker in self.pool.busy():
                self._watch(worker)
        if self.ending.aborted:
            self.ending.not_finished += [j.student for j in pending]
            self.ending.not_finished += [w.job.student for w in self.pool.busy() if w.job]

    def _dispatch(self, pending: deque[Job]) -> None:
        for worker in self.pool.idle():
            if not pending:
                return
            gpu = self.gpus.acquire() if self.needs_gpu else None
            if self.needs_gpu and gpu is None:
                return
            job = replace(pending.popleft(), gpu=gpu)
            worker.give(job)
            self.hooks.emit(Started(job.student, worker.slot, gpu))

    def _handle(self, worker: Worker, msg: Message, pending: deque[Job]) -> None:
        job = worker.job
        match msg:
            case CellStarted(index, total) if job is not None:
                self.hooks.emit(CellProgress(job.student, worker.slot, index, total))
            case Done() if job is not None:
                self._release(worker)
                if msg.status is Status.GRADER_ERROR and job.attempt < 2:
                    self._retry(job, msg.message, pending)
                else:
                    self._finished(job, msg, worker.slot)
                self.pool.retire_if_worn(worker)
            case Died(exitcode):
                self._died(worker, exitcode, pending)
            case Broken(reason):
                self.ending.aborted = reason
                if job is not None:
                    pending.appendleft(job)
                    self._release(worker)

    def _retry(self, job: Job, reason: str, pending: deque[Job]) -> None:
        """Grader errors are mostly transient (a kernel that failed to start): once more."""
        self.hooks.retried(job, reason)
        pending.appendleft(replace(job, attempt=job.attempt + 1, gpu=None))

    def _release(self, worker: Worker) -> None:
        if worker.job is not None and worker.job.gpu is not None:
            self.gpus.release(worker.job.gpu)
        worker.job = None

    def _finished(self, job: Job, done: Done, slot: int) -> None:
        if done.status is Status.GRADER_ERROR:
            self.errors_in_a_row += 1
            if self.errors_in_a_row >= ABORT_AFTER and self.graded == 0:
                self.ending.aborted = done.message or f"grader error on {job.student}"
        else:
            self.errors_in_a_row = 0
        self.graded += done.status in GRADED_STATUSES
        self.hooks.finished(job, done, slot)

    def _died(self, worker: Worker, exitcode: int | None, pending: deque[Job]) -> None:
        job = worker.job
        self._release(worker)
        self.pool.reap()
        if self.ending.aborted:
            return
        self.pool.replace(worker)
        if job is None:
            return
        if job.attempt < 2:
            self._retry(job, f"worker died (exit code {exitcode})", pending)
            return
        self._fail(job, Said.of(Verdicts.worker_died, code=exitcode), worker.slot)

    def _watch(self, worker: Worker) -> None:
        """Stop a job past its time limit, or whose worker holds too much memory."""
        if time.monotonic() - worker.since > self.limits.seconds:
            self._stop(worker, Said.of(Verdicts.overdue, seconds=self.limits.seconds))
        elif worker.rss_mb() > self.limits.memory_mb:
            self._stop(worker, Said.of(Verdicts.over_memory, mib=self.limits.memory_mb))

    def _stop(self, worker: Worker, why: Said) -> None:
        """A job that overran: its worker is killed with its kernel and container, at once."""
        job = worker.job
        seconds = time.monotonic() - worker.since
        worker.kill()
        self._release(worker)
        self.pool.reap()
        self.pool.replace(worker)
        if job is not None:
            self._fail(job, why, worker.slot, seconds)

    def _fail(self, job: Job, why: Said, slot: int, seconds: float = 0.0) -> None:
        self._finished(job, self.hooks.fail(job, why, seconds), slot)

    def _interrupt(self, pending: deque[Job]) -> None:
        self.ending.interrupted = True
        running = [w.job for w in self.pool.busy() if w.job is not None]
        self.hooks.emit(Stopping(running=len(running)))
        finished = set()
        for worker, msg in self.pool.shutdown(grace=20):
            if isinstance(msg, Done) and worker.job is not None:
                finished.add(msg.student)
                self._finished(worker.job, msg, worker.slot)
        self.ending.not_finished = [j.student for j in running if j.student not in finished]
        self.ending.not_finished += [j.student for j in pending]
