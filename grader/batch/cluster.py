"""Grade a class across machines on a Ray cluster: the driver's half (``node.py`` is the nodes').

The plan (cache, refusals, jobs) and the store are the local batch's; only where the jobs run
differs. Each job is a Ray task that grades one submission in its node's sandbox, asking the
spec's CPUs and memory and, when submissions get GPUs, ``1/per_gpu`` of one (Ray packs them and
says which GPU). The assignment is put into the object store once; a node fetches it once and
unpacks it once. Results come back to this process, which writes them into the one output folder
with the same atomic store, so a rerun skips what is done.

At most as many tasks are in flight as the cluster has slots, so "started" means started and
Ctrl-C has little to cancel. A task that fails for any reason (its node was killed, its worker
crashed, an exception) is sent again once, to any node; a second failure is kept as a grader
error (a stall that reruns keep). Ray's own task retries are off, so a lost submission is
graded again exactly once, and since only this process writes results, each is written once.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from grader.batch.cache import assignment_fingerprint
from grader.batch.events import GRADED_STATUSES, Started, Stopping
from grader.batch.messages import Done, Job
from grader.batch.node import NodeBroken, NodeDone, pack_folder, pack_submission
from grader.batch.scheduler import ABORT_AFTER, Ending, Hooks, Limits
from grader.batch.worker import record_for
from grader.core.errors import GraderError
from grader.core.lang import Said
from grader.core.messages import Verdicts
from grader.core.results import GradeResult, Status
from grader.core.spec import Assignment
from grader.core.store import Store
from grader.core.version import version
from grader.sandbox.choose import Backend

if TYPE_CHECKING:
    from grader.sandbox.docker.doctor import Check

RAY_HINT = "install it with `pip install 'dl-grader[ray]'` on this machine and on every node"
POLL = 0.5
"""Seconds between looks at the tasks in flight."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise GraderError(
            "the ray engine needs Ray, which is not installed", hint=RAY_HINT
        ) from None
    return ray


def connect(address: str) -> Any:
    """The ``ray`` module, connected to the cluster at ``address`` (``HOST:PORT``)."""
    ray = import_ray()
    if not ray.is_initialized():
        try:
            ray.init(address=address, log_to_driver=False, logging_level="ERROR")
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise GraderError(
                f"cannot reach the Ray cluster at {address}: {str(exc)[:300]}",
                hint="start it (`ray start --head --port PORT` on the head node, then "
                "`ray start --address HEAD:PORT` on each node) or fix --address",
            ) from None
    return ray


@dataclass(frozen=True)
class ClusterOptions:
    address: str
    backend: Backend
    hidden: bool
    per_gpu: int = 1
    gpus: bool = False
    """Each submission holds ``1/per_gpu`` of a GPU of its node."""


def slots(ray: Any, spec: Assignment, options: ClusterOptions) -> int:
    """How many submissions the cluster grades at once: by CPUs, memory and GPUs."""
    resources = ray.cluster_resources()
    by_cpu = int(resources.get("CPU", 0) // max(spec.resources.cpus, 1e-3))
    by_memory = int(resources.get("memory", 0) // (spec.resources.memory_mb * 2**20)) or by_cpu
    found = min(by_cpu, by_memory)
    if options.gpus:
        found = min(found, int(resources.get("GPU", 0)) * options.per_gpu)
    return max(1, found)


def _grade_task(
    job: Job,
    shipped: Any,
    assignment_tar: bytes,
    fingerprint: str,
    spec_id: str,
    backend: Backend,
    hidden: bool,
) -> NodeDone | NodeBroken:
    """Runs on a node, in a Ray worker process."""
    import ray

    from grader.batch import node

    gpus = tuple(str(g) for g in ray.get_gpu_ids())
    folder = node.assignment_here(fingerprint, assignment_tar, spec_id)
    return node.grade_here(
        job,
        shipped,
        assignment=folder,
        fingerprint=fingerprint,
        backend=backend,
        hidden=hidden,
        gpus=gpus,
    )


@dataclass
class _Flight:
    job: Job
    slot: int
    since: float


class RayScheduler:
    """Runs the planned jobs on the cluster; reports through the same hooks as the pool's."""

    def __init__(
        self,
        spec: Assignment,
        *,
        cluster: ClusterOptions,
        limits: Limits,
        hooks: Hooks,
        store: Store,
    ) -> None:
        self.spec, self.cluster, self.limits = spec, cluster, limits
        self.hooks, self.store = hooks, store
        self.ending = Ending()
        self.graded = self.errors_in_a_row = 0
        self.flights: dict[Any, _Flight] = {}

    def run(self, jobs: Iterable[Job]) -> Ending:
        ray = connect(self.cluster.address)
        pending = deque(jobs)
        try:
            self._task = self._remote(ray)
            self._assignment = ray.put(pack_folder(self.spec.root))
            self._fingerprint = assignment_fingerprint(self.spec)
            self._loop(ray, pending, slots(ray, self.spec, self.cluster))
        except KeyboardInterrupt:
            self._interrupt(ray, pending)
        return self.ending

    def _remote(self, ray: Any) -> Any:
        cpus, memory = self.spec.resources.cpus, self.spec.resources.memory_mb * 2**20
        gpus = 1 / self.cluster.per_gpu if self.cluster.gpus else 0
        return ray.remote(_grade_task).options(
            num_cpus=cpus, num_gpus=gpus, memory=memory, max_retries=0, retry_exceptions=False
        )

    def _loop(self, ray: Any, pending: deque[Job], capacity: int) -> None:
        free = list(range(capacity))
        while (pending or self.flights) and not self.ending.aborted:
            while pending and free:
                self._submit(pending.popleft(), free.pop(0))
            ready, _ = ray.wait(list(self.flights), num_returns=1, timeout=POLL)
            for ref in ready:
                flight = self.flights.pop(ref)
                free.append(flight.slot)
                self._handle(ray, ref, flight, pending)
            self._watch(ray, free)
        if self.ending.aborted:
            self.ending.not_finished += [j.student for j in pending]
            self.ending.not_finished += [f.job.student for f in self.flights.values()]
            for ref in self.flights:
                ray.cancel(ref, force=True)

    def _submit(self, job: Job, slot: int) -> None:
        shipped = pack_submission(job.source)
        ref = self._task.remote(
            job,
            shipped,
            self._assignment,
            self._fingerprint,
            self.spec.root.name,
            self.cluster.backend,
            self.cluster.hidden,
        )
        self.flights[ref] = _Flight(job, slot, time.monotonic())
        self.hooks.emit(Started(job.student, slot))

    def _handle(self, ray: Any, ref: Any, flight: _Flight, pending: deque[Job]) -> None:
        job = flight.job
        try:
            value = ray.get(ref)
        except ray.exceptions.RayError as exc:
            reason = _why(exc)
            if job.attempt < 2:
                self.hooks.retried(job, f"task lost: {reason}")
                pending.appendleft(replace(job, attempt=job.attempt + 1))
            else:
                why = Said.of(Verdicts.task_lost, detail=reason)
                self._finished(job, self.hooks.fail(job, why, 0.0), flight.slot)
            return
        if isinstance(value, NodeBroken):
            self.ending.aborted = f"on node {value.node}: {value.reason}"
            pending.appendleft(job)
            return
        self._store(job, value)
        if value.done.status is Status.GRADER_ERROR and job.attempt < 2:
            self.hooks.retried(job, value.done.message)
            pending.appendleft(replace(job, attempt=job.attempt + 1))
            return
        self._finished(job, value.done, flight.slot)

    def _store(self, job: Job, value: NodeDone) -> None:
        """Written here, once, with the same atomic store as a local worker's."""
        result = GradeResult.model_validate_json(value.result_json)
        record = record_for(job, value.done.seconds, self.cluster.backend.value)
        self.store.save(job.student, result, record)
        pictures = self.store.artifacts(job.student)
        for name, data in value.artifacts.items():
            if name and "/" not in name and name not in (".", ".."):
                pictures.mkdir(parents=True, exist_ok=True)
                (pictures / name).write_bytes(data)

    def _finished(self, job: Job, done: Done, slot: int) -> None:
        if done.status is Status.GRADER_ERROR:
            self.errors_in_a_row += 1
            if self.errors_in_a_row >= ABORT_AFTER and self.graded == 0:
                self.ending.aborted = done.message or f"grader error on {job.student}"
        else:
            self.errors_in_a_row = 0
        self.graded += done.status in GRADED_STATUSES
        self.hooks.finished(job, done, slot)

    def _watch(self, ray: Any, free: list[int]) -> None:
        """A task past the hard limit is cancelled (its worker killed) and kept as a stall."""
        now = time.monotonic()
        for ref, flight in list(self.flights.items()):
            if now - flight.since > self.limits.seconds:
                ray.cancel(ref, force=True)
                del self.flights[ref]
                free.append(flight.slot)
                why = Said.of(Verdicts.overdue, seconds=self.limits.seconds)
                done = self.hooks.fail(flight.job, why, now - flight.since)
                self._finished(flight.job, done, flight.slot)

    def _interrupt(self, ray: Any, pending: deque[Job]) -> None:
        self.ending.interrupted = True
        self.hooks.emit(Stopping(running=len(self.flights)))
        for ref in self.flights:
            ray.cancel(ref, force=True)
        self.ending.not_finished = [f.job.student for f in self.flights.values()]
        self.ending.not_finished += [j.student for j in pending]
        self.flights.clear()


def _why(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[-1][:200] if lines else ''}"


# ---------------------------------------------------------------------- grade doctor --engine ray
DOCTOR_WAIT = 120.0
"""Seconds every node has to run its checks."""


def check_nodes(
    address: str, *, backend: Backend, require_gpu: bool = False
) -> dict[str, list[Check]]:
    """Each live node's checks, run on that node: the grader's version (it must be this one),
    the sandbox (Docker, its image, GPUs and the NVIDIA runtime; or the local kernel), and the
    GPUs Ray schedules there."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from grader.sandbox.docker.doctor import Check

    ray = connect(address)
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    task = ray.remote(_node_checks)
    refs = {}
    for n in nodes:
        strategy = NodeAffinitySchedulingStrategy(node_id=n["NodeID"], soft=False)
        gpus = float((n.get("Resources") or {}).get("GPU", 0))
        name = f"{n.get('NodeManagerHostname', '?')} {n['NodeID'][:8]}"
        refs[name] = task.options(num_cpus=0, scheduling_strategy=strategy).remote(
            backend, require_gpu, version(), gpus
        )
    found: dict[str, list[Check]] = {}
    for name, ref in refs.items():
        try:
            found[name] = ray.get(ref, timeout=DOCTOR_WAIT)
        except (ray.exceptions.RayError, TimeoutError) as exc:
            found[name] = [Check("Node answers", False, _why(exc), "check the node's logs")]
    return found


def _node_checks(backend: Backend, require_gpu: bool, wanted: str, gpus: float) -> list[Check]:
    """Runs on one node."""
    from grader.sandbox.docker.doctor import Check

    here = version()
    checks = [
        Check(
            "Grader version",
            here == wanted,
            here,
            "" if here == wanted else f"install dl-grader {wanted} on this node",
        )
    ]
    if backend is Backend.DOCKER:
        from grader.sandbox.docker.doctor import run_checks

        checks += run_checks(require_gpu=require_gpu)
    else:
        checks.append(_kernel_check())
    ok = gpus > 0 or not require_gpu
    fix = "" if ok else "start the node with `ray start ... --num-gpus N`"
    checks.append(Check("GPUs for Ray", ok, f"{gpus:g}", fix, required=require_gpu))
    return checks


def _kernel_check() -> Check:
    import importlib.util

    from grader.sandbox.docker.doctor import Check

    found = importlib.util.find_spec("ipykernel") is not None
    return Check(
        "Local kernel", found, "ipykernel" if found else "no ipykernel", "pip install ipykernel"
    )
