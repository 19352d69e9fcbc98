"""Grade a handful of named notebooks in parallel on the batch's workers (``grade validate``).

No class folder, cache or reports: each notebook is a job with the spec it is graded under,
results go to a throw-away store, and each one is handed back as soon as it is written. The
workers, their zygotes or containers, the limits and the clean-up are the batch's own.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from grader.batch.events import ignore
from grader.batch.gpus import GpuSlots
from grader.batch.messages import Done, Job
from grader.batch.pool import Pool, supervised
from grader.batch.runner import default_worker_memory, default_workers, hard_limit
from grader.batch.scheduler import Hooks, Limits, Scheduler
from grader.batch.worker import WorkerConfig, grader_error, record_for
from grader.core.errors import GraderError
from grader.core.lang import Said
from grader.core.results import GradeResult
from grader.core.spec import Assignment
from grader.core.store import Store
from grader.sandbox.choose import Backend

OnResult = Callable[[int, GradeResult], None]


def in_parallel(
    backend: Backend, jobs: int | None = None
) -> Callable[[Sequence[tuple[Path, Assignment]], OnResult], None]:
    """A ``grade_many`` for :func:`grader.course.validate.validate_assignment`: ``jobs``
    workers (None: as many as a batch of the assignment would start)."""

    def grade_many(targets: Sequence[tuple[Path, Assignment]], on_result: OnResult) -> None:
        grade_all(targets, on_result, backend=backend, jobs=jobs)

    return grade_many


def grade_all(
    targets: Sequence[tuple[Path, Assignment]],
    on_result: OnResult,
    *,
    backend: Backend,
    jobs: int | None = None,
    hidden: bool = True,
) -> None:
    """Grade each ``(notebook, spec)`` of one assignment; ``on_result(index, result)`` as each
    is done. Raises KeyboardInterrupt when interrupted, GraderError when nothing can be graded
    (the tests cannot be collected)."""
    if not targets:
        return
    spec = targets[0][1]
    with tempfile.TemporaryDirectory(prefix="dl-grader-many-") as tmp:
        store = Store(Path(tmp))
        log = Path(tmp) / "worker.log"
        config = WorkerConfig(
            assignment=spec.root, backend=backend, hidden=hidden, out=store.out, log=log
        )

        def finished(job: Job, done: Done, slot: int) -> None:
            stored = store.load(job.student)
            assert stored is not None, f"no result stored for {job.student}"
            on_result(int(job.student[1:]), stored.result)

        def fail(job: Job, why: Said, seconds: float) -> Done:
            result = grader_error(job.spec or spec, job.source, why, student=job.student)
            store.save(job.student, result, record_for(job, seconds, backend.value))
            return Done(job.student, result.status, 0.0, result.max_points, seconds)

        hooks = Hooks(finished, fail, retried=lambda job, reason: None, emit=ignore)
        workers = min(jobs or default_workers(spec), len(targets))
        with supervised():
            ending = Scheduler(
                Pool(config, workers),
                gpus=GpuSlots([]),
                needs_gpu=False,
                limits=Limits(hard_limit(spec), default_worker_memory(spec)),
                hooks=hooks,
            ).run(_jobs(targets, spec))
    if ending.interrupted:
        raise KeyboardInterrupt
    if ending.aborted:
        raise GraderError(f"could not grade {spec.id}: {ending.aborted}")


def _jobs(targets: Sequence[tuple[Path, Assignment]], spec: Assignment) -> list[Job]:
    return [
        Job(
            student=f"t{index}",
            source=path.resolve(),
            key="",
            spec=None if own is spec else own,
        )
        for index, (path, own) in enumerate(targets)
    ]
