"""The sandbox protocol: one method that yields the project's kernel handle.

The caller (``grader.pipeline.execute``) owns timing, timeouts, status and output limits; a
backend only decides *where* the kernel process runs and under which limits, says why a kernel
ended (:class:`KernelEnd`) and guarantees that everything it started is gone when the context
exits, on every path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync

from grader.core.spec import Resources


@dataclass(frozen=True)
class Mount:
    """A host folder made visible to the kernel at ``workdir/target`` (read-only by default)."""

    host: Path
    target: str
    read_only: bool = True


@dataclass(frozen=True)
class KernelRequest:
    """What a submission's kernel needs."""

    workdir: Path
    """Host folder holding the copy of the submission; the kernel's working directory."""
    limits: Resources
    mounts: tuple[Mount, ...] = ()
    gpus: tuple[str, ...] = ()
    """GPU device ids granted to this kernel ('all' or indices); empty = none."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Extra environment for the kernel (the rest of the environment is scrubbed)."""
    label: str = ""
    """Who this kernel is for (a student id or file name), for labels and logs."""
    hidden_modules: tuple[str, ...] = ()
    """Top-level modules the sandbox must not load (the spec's forbidden imports). A backend
    that can hide them from every process of the sandbox does (Docker mounts a stub over each,
    so not even a subprocess finds them); the kernel's audit hook refuses them in any case."""


class KernelEnd(StrEnum):
    """Why a sandboxed kernel is no longer running, as far as its sandbox can tell."""

    RUNNING = "running"
    """It has not ended (or was never started)."""
    EXITED = "exited"
    """It ended for a reason the sandbox cannot name: ``os._exit``, a crash in native code,
    a signal, a resource limit it has no record of."""
    OUT_OF_MEMORY = "out_of_memory"
    """The sandbox's memory limit killed it (Docker's OOM killer)."""


class Kernel:
    """What a sandbox hands back: the kernel manager nbclient and the bridge drive (not yet
    started), and :meth:`end`, why its kernel ended. Backends that know more override it."""

    def __init__(self, manager: AsyncKernelManager) -> None:
        self.manager = manager

    def end(self) -> KernelEnd:
        provisioner = self.manager.provisioner if self.manager.has_kernel else None
        process = getattr(provisioner, "process", None)
        if process is None or process.poll() is None:
            return KernelEnd.RUNNING
        return KernelEnd.EXITED


class Sandbox(Protocol):
    """A backend that runs kernels somewhere safe."""

    name: str

    def kernel(self, request: KernelRequest) -> AbstractContextManager[Kernel]:
        """Yield a kernel handle (its kernel not yet started); on exit, kill and remove
        everything."""
        ...

    def close(self) -> None:
        """Release what the backend keeps between kernels (a local zygote); idempotent."""
        ...


class CommandKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel is started by an arbitrary command.

    ``argv`` is the full command; ``{connection_file}`` in it is replaced by the path of the
    connection file. Backends wrap the usual ``python -m ipykernel_launcher`` this way.
    """

    def __init__(self, argv: list[str], **kwargs: object) -> None:
        kwargs.setdefault("client_class", "grader.sandbox.ready.ReadyAsyncClient")
        super().__init__(**kwargs)
        self._argv = argv

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return [a.replace("{connection_file}", self.connection_file) for a in self._argv]


def release(km: AsyncKernelManager) -> None:
    """Free what ``km`` holds in this process once its kernel is gone: the control socket, the
    zmq context it created, the connection and ipc files, the ports it reserved."""
    run_sync(km.cleanup_resources)(restart=False)


def kernel_env(request: KernelRequest, home: str) -> dict[str, str]:
    """The scrubbed environment a kernel gets, whatever the backend."""
    threads = str(max(1, int(request.limits.cpus)))
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "JPY_SESSION_NAME": "submission.ipynb",
        "GRADER_SANDBOX": "1",
        "CUDA_VISIBLE_DEVICES": ",".join(request.gpus) if request.gpus else "",
        **request.env,
    }


def iter_mount_links(request: KernelRequest) -> Iterator[tuple[Path, Path]]:
    """(link inside workdir, host folder) pairs for backends that mount by symlink."""
    for mount in request.mounts:
        yield request.workdir / mount.target, mount.host
