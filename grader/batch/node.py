"""What a cluster node does for a batch on Ray (``cluster.py`` is the driver's half).

A task brings one submission (its bytes) and a reference to the assignment (a tar, fetched
by the node once and unpacked once into a folder named by its fingerprint). The Ray worker
process keeps a :class:`~grader.batch.worker.Warm` per assignment for its life, exactly as a
local batch worker does (spec, sandbox with its zygote, collected tests, evaluators), grades
with :func:`~grader.batch.worker.grade_job` into a scratch store of its own and hands back the
result as JSON with its pictures; the driver writes it into the one output folder. Nothing
here imports Ray: the driver wraps these functions as tasks.
"""

from __future__ import annotations

import fcntl
import io
import os
import shutil
import socket
import tarfile
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader.batch.messages import Done, Job
from grader.batch.worker import Warm, WorkerConfig, grade_job
from grader.pipeline import files
from grader.sandbox.choose import Backend

MAX_SUBMISSION_BYTES = 256 * 2**20
"""A submission larger than this is not sent to a node (the intake would refuse it anyway)."""
_SKIP = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".git"}


@dataclass(frozen=True)
class Shipped:
    """One submission as it travels: its name (a file's or a folder's) and a tar of it."""

    name: str
    tar: bytes


@dataclass(frozen=True)
class NodeDone:
    """A graded submission, as the node hands it back."""

    done: Done
    result_json: str
    node: str
    artifacts: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class NodeBroken:
    """This node cannot grade the assignment at all (its tests cannot be collected)."""

    reason: str
    node: str


# ---------------------------------------------------------------------- packing (driver)
def pack_folder(folder: Path, *, arcname: str = ".") -> bytes:
    """A gzipped tar of ``folder``'s regular files (no link followed, caches left out)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for entry in files.walk(folder):
            if entry.kind == "file" and not _SKIP & set(entry.relative.parts):
                tar.add(entry.path, arcname=f"{arcname}/{entry.relative.as_posix()}")
    return buffer.getvalue()


def pack_submission(source: Path) -> Shipped:
    """What a node needs of one submission: the file, or the folder's files."""
    if files.kind(source) == "dir":
        return Shipped(source.name, pack_folder(source, arcname=source.name))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(source, arcname=source.name, recursive=False)
    return Shipped(source.name, buffer.getvalue())


def unpack(tar: bytes, into: Path) -> None:
    """Extract with the standard library's ``data`` filter: no links out, no devices."""
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(into, filter="data")


# ---------------------------------------------------------------------- on the node
_warm: dict[tuple[str, Backend, bool], Warm] = {}
"""The Ray worker process's warm state per (assignment fingerprint, backend, hidden)."""


def node_name() -> str:
    return socket.gethostname()


def assignment_here(fingerprint: str, tar: bytes, spec_id: str) -> Path:
    """The assignment's folder on this node: unpacked by the first task that needs it (under
    a lock, atomically), reused by every later one."""
    base = Path(tempfile.gettempdir()) / "dl-grader-assignments"
    base.mkdir(exist_ok=True)
    folder = base / fingerprint / spec_id
    with open(base / f"{fingerprint}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not folder.is_dir():
            staging = Path(tempfile.mkdtemp(prefix=f"{fingerprint[:12]}-", dir=base))
            unpack(tar, staging / spec_id)
            os.rename(staging, base / fingerprint)
    return folder


def grade_here(
    job: Job,
    shipped: Shipped,
    *,
    assignment: Path,
    fingerprint: str,
    backend: Backend,
    hidden: bool,
    gpus: tuple[str, ...] = (),
) -> NodeDone | NodeBroken:
    """Grade one submission on this node with this process's warm state."""
    warm = _warm_for(assignment, fingerprint, backend, hidden)
    if isinstance(warm, NodeBroken):
        return warm
    with tempfile.TemporaryDirectory(prefix="dl-grader-job-") as tmp:
        unpack(shipped.tar, Path(tmp))
        local = replace(job, source=Path(tmp) / shipped.name, gpu=gpus[0] if gpus else None)
        done = grade_job(local, warm)
        assert done is not None, "a task is stopped by killing its process, never midway"
        folder = warm.store.folder(job.student)
        result_json = (folder / "result.json").read_text(encoding="utf-8")
        pictures = _artifacts(warm.store.artifacts(job.student))
        shutil.rmtree(folder, ignore_errors=True)
    return NodeDone(done, result_json, node_name(), pictures)


def _warm_for(
    assignment: Path, fingerprint: str, backend: Backend, hidden: bool
) -> Warm | NodeBroken:
    key = (fingerprint, backend, hidden)
    if key not in _warm:
        out = Path(tempfile.mkdtemp(prefix="dl-grader-node-"))
        config = WorkerConfig(assignment=assignment, backend=backend, hidden=hidden, out=out)
        warm = Warm(config)
        broken = warm.warm_up()
        if broken:
            return NodeBroken(broken, node_name())
        _warm[key] = warm
    return _warm[key]


def _artifacts(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {
        p.name: p.read_bytes()
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.is_symlink()
    }
