"""Grade a class: read it, plan (cache, refusals, jobs), run the plan, keep every result.

The parent never runs student code: it reads the class (``intake.py``), makes a pure plan
(``plan.py``), stores the verdicts that need no grading (duplicates, missing files), hands the
jobs to the scheduler (``scheduler.py``), and counts, logs and stores what it reports.
"""

from __future__ import annotations

import math
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from grader.batch.cache import assignment_fingerprint, cache_key, submission_digest
from grader.batch.cluster import ClusterOptions, RayScheduler, connect, slots
from grader.batch.engines import Engine
from grader.batch.events import GRADED_STATUSES, EventHook, Finished, Outcome, Planned, ignore
from grader.batch.gpus import GpuSlots
from grader.batch.intake import Entry, read_class
from grader.batch.lock import BatchLock
from grader.batch.messages import Done, Job
from grader.batch.plan import Plan, Refusal, make_plan, select
from grader.batch.pool import Pool, supervised
from grader.batch.scheduler import Ending, Hooks, Limits, Scheduler
from grader.batch.worker import RECYCLE_AFTER, WorkerConfig, grader_error, record_for
from grader.core.errors import GraderError
from grader.core.lang import Said
from grader.core.results import GradeResult, Status
from grader.core.spec import Assignment
from grader.core.store import BatchInfo, Store
from grader.core.verdict import Findings, build_result, decide
from grader.sandbox.choose import Backend, make_sandbox


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
    engine: Engine = Engine.LOCAL
    address: str | None = None
    """The Ray cluster's ``HOST:PORT`` (``engine`` RAY)."""


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

    def run(self) -> BatchSummary:
        if self.spec.resources.gpu == "required" and not self.options.gpus:
            raise GraderError(
                f"assignment '{self.spec.id}' requires a GPU",
                hint="pass --gpus 0 (or 0,1,...) with --per-gpu K",
            )
        self.store.save_info(BatchInfo.of(self.spec))
        plan = self._plan()
        self.emit(
            Planned(
                total=self.summary.total,
                cached=len(plan.cached),
                to_grade=len(plan.jobs) + len(plan.refused),
                workers=plan.workers,
            )
        )
        for student in plan.cached:
            self._cached(student)
        for refusal in plan.refused:
            self._refuse(refusal)
        if plan.jobs:
            if self._cluster is None:
                self._preflight()  # on a cluster, `grade doctor --engine ray` checks the nodes
            self._absorb(self._schedule(plan))
        self.summary.seconds = time.monotonic() - self.started
        return self.summary

    # ------------------------------------------------------------------ plan
    def _plan(self) -> Plan:
        intake = read_class(
            self.submissions, manifest=self.options.manifest, scratch=self.store.state()
        )
        entries = select(intake.entries, self.options.only, where=str(self.submissions))
        self.summary.ignored, self.summary.total = intake.ignored, len(entries)
        fingerprint = assignment_fingerprint(self.spec)
        for entry in entries:
            self.store.clean_temporaries(entry.student)
        keys = {e.student: self._key(e, fingerprint) for e in entries}
        retry = self.options.retry_errors
        stored = {
            e.student: keys[e.student]
            for e in entries
            if self.store.cached(e.student, keys[e.student], retry_errors=retry)
        }
        plan = make_plan(
            entries,
            keys=keys,
            stored=stored,
            force=self.options.force or bool(self.options.only),
            workers=self._workers(),
        )
        self.summary.workers = plan.workers
        return plan

    def _workers(self) -> int:
        if self._cluster is not None:
            return slots(connect(self._cluster.address), self.spec, self._cluster)
        workers = self.options.jobs or default_workers(self.spec)
        return min(workers, self.gpus.capacity) if self._needs_gpu else workers

    @property
    def _needs_gpu(self) -> bool:
        """GPUs were given and the spec may use one: each submission holds a GPU slot."""
        return self.spec.resources.gpu != "none" and self.gpus.capacity > 0

    @property
    def _cluster(self) -> ClusterOptions | None:
        """With ``--engine ray``: GPUs are the nodes' own, ``--gpus`` only says to use them."""
        if self.options.engine is not Engine.RAY:
            return None
        if not self.options.address:
            raise GraderError(
                "--engine ray needs the cluster's address", hint="--address HOST:PORT"
            )
        return ClusterOptions(
            address=self.options.address,
            backend=self.options.backend,
            hidden=self.options.hidden,
            per_gpu=self.options.per_gpu,
            gpus=self.spec.resources.gpu != "none" and bool(self.options.gpus),
        )

    def _key(self, entry: Entry, fingerprint: str) -> str:
        if entry.refused is not None or entry.source is None:
            what = f"refused:{entry.refused}"
        else:
            what = submission_digest(entry.source)
        return cache_key(
            submission=what,
            assignment=fingerprint,
            hidden=self.options.hidden,
            submitted_at=entry.submitted_at,
        )

    def _cached(self, student: str) -> None:
        self.summary.cached += 1
        stored = self.store.load(student)
        assert stored is not None
        r = stored.result
        if r.status is Status.GRADER_ERROR:  # a stall kept from an earlier run
            self.summary.grader_errors.append(student)
        self.emit(Finished(student, Outcome.CACHED, r.status, r.points, r.max_points))

    def _refuse(self, refusal: Refusal) -> None:
        entry = refusal.entry
        verdict = decide(Findings(refused=refusal.refused), self.spec.language)
        sources = ", ".join(str(p) for p in entry.sources) or str(entry.source or "")
        result = build_result(
            self.spec, submission=sources, verdict=verdict, hidden=self.options.hidden
        )
        job = Job(
            student=entry.student,
            source=entry.source or Path(),
            key=refusal.key,
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
            docker_ready(gpu=bool(self.options.gpus) and self.spec.resources.gpu != "none")

    # ------------------------------------------------------------------ run
    def _schedule(self, plan: Plan) -> Ending:
        hooks = Hooks(self._finished, self._fail, self._retried, self.emit)
        limits = Limits(
            seconds=self.options.hard_timeout or hard_limit(self.spec),
            memory_mb=self.options.worker_memory_mb or default_worker_memory(self.spec),
        )
        cluster = self._cluster
        if cluster is not None:
            with supervised():  # for SIGTERM: the kernels run on the nodes
                ray = RayScheduler(
                    self.spec, cluster=cluster, limits=limits, hooks=hooks, store=self.store
                )
                return ray.run(plan.jobs)
        config = WorkerConfig(
            assignment=self.spec.root,
            backend=self.options.backend,
            hidden=self.options.hidden,
            out=self.store.out,
            log=self.store.state() / "worker.log",
        )
        with supervised():
            pool = Pool(config, plan.workers, max_jobs=self.options.max_jobs_per_worker)
            scheduler = Scheduler(
                pool, gpus=self.gpus, needs_gpu=self._needs_gpu, limits=limits, hooks=hooks
            )
            return scheduler.run(plan.jobs)

    def _absorb(self, ending: Ending) -> None:
        self.summary.interrupted = ending.interrupted
        self.summary.aborted = ending.aborted
        self.summary.not_finished += ending.not_finished

    def _retried(self, job: Job, reason: str) -> None:
        self.store.log(
            {
                "run": self.run_id,
                "student": job.student,
                "outcome": "retry",
                "attempt": job.attempt,
                "message": reason,
            }
        )

    def _finished(self, job: Job, done: Done, slot: int) -> None:
        outcome = Outcome.GRADED if done.status in GRADED_STATUSES else Outcome.FAILED
        self.summary.graded += outcome is Outcome.GRADED
        self.summary.failed += outcome is Outcome.FAILED
        if done.status is Status.GRADER_ERROR:
            self.summary.grader_errors.append(job.student)
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

    def _fail(self, job: Job, why: Said, seconds: float) -> Done:
        """A stall: recorded as a grader error that the next run keeps (``sticky``)."""
        result = grader_error(self.spec, job.source, why, student=job.student)
        self._store(job, result, seconds, sticky=True)
        return Done(job.student, result.status, 0.0, result.max_points, seconds, result.message)

    def _store(
        self, job: Job, result: GradeResult, seconds: float = 0.0, *, sticky: bool = False
    ) -> None:
        """Keep a verdict the parent reached without a worker's result."""
        record = record_for(job, seconds, self.options.backend.value, sticky=sticky)
        self.store.save(job.student, result, record)


def docker_ready(*, gpu: bool) -> None:
    """The Docker checks of `grade doctor` that grading needs, before any worker starts."""
    from grader.sandbox.docker.doctor import check_cli, check_engine, check_image
    from grader.sandbox.docker.engine import docker_host

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
