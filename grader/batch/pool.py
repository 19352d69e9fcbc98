"""A small pool of grading processes that knows which job each one holds.

Unlike ``ProcessPoolExecutor`` a dead worker costs only its own job (the parent knows which),
a stuck one can be killed with its kernels, and workers are recycled after some jobs to keep
memory bounded. Workers are forked from a forkserver that has imported the grader once.

Kernels run in their own sessions, so killing a worker does not kill its kernel: the parent
makes itself a child subreaper, and kernels orphaned by a dead worker become its children,
which :func:`reap_orphans` kills.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import tempfile
import time
from contextlib import suppress
from dataclasses import replace
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from grader.batch.messages import Died, Done, Job, Message, Shutdown, Stopped
from grader.batch.worker import RECYCLE_AFTER, WorkerConfig, serve
from grader.sandbox import scratch as owned
from grader.sandbox.choose import Backend, remove_kernels_of
from grader.sandbox.processes import (
    children,
    kill_group,
    reap_orphans,
)


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        # The server imports the grader (and the main module, which every worker would
        # otherwise import again) once; workers are forked from it, warm.
        ctx.set_forkserver_preload(["__main__", "grader.batch.preload"])
        return ctx
    return multiprocessing.get_context("spawn")


class Worker:
    """One process and the job it holds (None when idle)."""

    def __init__(self, ctx: Any, config: WorkerConfig, slot: int) -> None:
        self.slot = slot
        self.config = config
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(
            target=serve, args=(child, config), daemon=True, name=f"grade-worker-{slot}"
        )
        self.proc.start()
        child.close()
        self.job: Job | None = None
        self.since = 0.0
        self.jobs_done = 0
        self.cleaned = False

    @property
    def pid(self) -> int:
        return int(self.proc.pid or 0)

    def give(self, job: Job) -> None:
        self.job, self.since = job, time.monotonic()
        self.conn.send(job)

    def stop(self) -> None:
        with suppress(OSError, ValueError):
            self.conn.send(Shutdown())

    def signal(self, sig: int) -> None:
        with suppress(ProcessLookupError, TypeError):
            os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL the worker and the kernels and containers it started."""
        for child in children(self.pid):
            kill_group(child)
        self.signal(signal.SIGKILL)
        self.proc.join(5)
        self.cleanup()

    def rss_mb(self) -> float:
        """The worker's resident memory (kernels excluded: they have their own limits)."""
        try:
            pages = int(Path(f"/proc/{self.pid}/statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            return 0.0
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20

    def cleanup(self) -> None:
        """Once the worker has ended: remove the sandbox containers it left (a killed worker
        cannot remove them) and its temporary folder. Idempotent."""
        if self.proc.is_alive() or self.cleaned:
            return
        self.cleaned = True
        if self.config.backend is Backend.DOCKER:
            remove_kernels_of(self.pid, backend=Backend.DOCKER)
        if self.config.scratch is not None:
            shutil.rmtree(self.config.scratch, ignore_errors=True)


class Pool:
    """``size`` workers in fixed slots; a slot's worker is replaced when it dies or retires."""

    def __init__(self, config: WorkerConfig, size: int, *, max_jobs: int = RECYCLE_AFTER) -> None:
        self.config, self.max_jobs = config, max_jobs
        self.ctx = _context()
        self.baseline = set(children(os.getpid()))
        self.workers = [self._start(slot) for slot in range(size)]
        self.retired: list[Worker] = []

    def _start(self, slot: int) -> Worker:
        return Worker(self.ctx, self._config(slot), slot)

    def _config(self, slot: int) -> WorkerConfig:
        log = self.config.log.with_name(f"worker-{slot}.log") if self.config.log else None
        scratch = Path(tempfile.mkdtemp(prefix=owned.prefix(f"w{slot}")))
        scratch.chmod(0o755)  # the sandbox user traverses it to its work folder
        return replace(self.config, log=log, scratch=scratch)

    def idle(self) -> list[Worker]:
        return [w for w in self.workers if w.job is None]

    def busy(self) -> list[Worker]:
        return [w for w in self.workers if w.job is not None]

    def replace(self, worker: Worker) -> Worker:
        """A fresh worker in the slot of ``worker`` (which is dead or retiring)."""
        worker.cleanup()
        fresh = self._start(worker.slot)
        self.workers[worker.slot] = fresh
        return fresh

    def retire_if_worn(self, worker: Worker) -> None:
        worker.jobs_done += 1
        if worker.jobs_done >= self.max_jobs:
            worker.stop()
            self.retired.append(worker)
            self.replace(worker)
        for old in self.retired:
            old.cleanup()
        self.retired = [w for w in self.retired if w.proc.is_alive()]

    def poll(self, timeout: float) -> list[tuple[Worker, Message]]:
        """Messages from workers; :class:`Died` for a worker that is gone."""
        by_conn = {w.conn: w for w in self.workers}
        by_sentinel = {w.proc.sentinel: w for w in self.workers}
        ready = wait([*by_conn, *by_sentinel], timeout=timeout)
        out: list[tuple[Worker, Message]] = []
        for obj in ready:
            if obj in by_conn:
                out += self._drain(by_conn[obj])
        for obj in ready:
            w = by_sentinel.get(obj)
            if w is not None and not w.proc.is_alive() and w is self.workers[w.slot]:
                out += self._drain(w)
                out.append((w, Died(w.proc.exitcode)))
        return _dedupe_deaths(out)

    def _drain(self, worker: Worker) -> list[tuple[Worker, Message]]:
        out: list[tuple[Worker, Message]] = []
        with suppress(EOFError, OSError):
            while worker.conn.poll():
                out.append((worker, _checked(worker.conn.recv())))
        return out

    def shutdown(self, *, grace: float) -> list[tuple[Worker, Message]]:
        """Stop every worker (SIGTERM to busy ones), wait ``grace`` s, then kill the rest."""
        for w in self.workers:
            if w.job is not None:
                w.signal(signal.SIGTERM)
            else:
                w.stop()
        late = self._wait_all(grace)
        for w in [*self.workers, *self.retired]:
            if w.proc.is_alive():
                w.kill()
            w.proc.join(5)
            w.cleanup()
        self.reap()
        return late

    def reap(self) -> list[int]:
        """Kill kernels orphaned by dead workers (children we did not have before)."""
        return reap_orphans(exclude=self.baseline)

    def _wait_all(self, grace: float) -> list[tuple[Worker, Message]]:
        deadline = time.monotonic() + grace
        late: list[tuple[Worker, Message]] = []
        try:
            while any(w.proc.is_alive() for w in self.workers) and time.monotonic() < deadline:
                for w, msg in self.poll(0.2):
                    if isinstance(msg, Done | Stopped):
                        late.append((w, msg))
        except KeyboardInterrupt:  # a second Ctrl-C: no more waiting
            pass
        return late


def _checked(msg: object) -> Message:
    """A message as the worker's protocol types it (anything else is a bug in the worker)."""
    if not isinstance(msg, Message):
        raise TypeError(f"unexpected message from a worker: {msg!r}")
    return msg


def _dedupe_deaths(out: list[tuple[Worker, Message]]) -> list[tuple[Worker, Message]]:
    seen: set[int] = set()
    result = []
    for w, msg in out:
        if isinstance(msg, Died):
            if id(w) in seen:
                continue
            seen.add(id(w))
        result.append((w, msg))
    return result
