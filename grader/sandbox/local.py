"""LocalSandbox: the kernel is a local subprocess under rlimits, in its own folder.

For students and development. It limits memory, CPU time, file size and processes, scrubs the
environment and kills the whole process group on exit, but it is not a security boundary:
code can still read what the user can read. Instructors grade untrusted code with Docker.

The kernel runs under a tether to a lease this process holds (:mod:`grader.sandbox.lease`):
if the grader dies without cleaning up (``kill -9``), the kernel's process group dies with it.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

from grader.sandbox import launch, scratch
from grader.sandbox.base import (
    CommandKernelManager,
    Kernel,
    KernelRequest,
    iter_mount_links,
    kernel_env,
    release,
)
from grader.sandbox.lease import Lease, tethered

ALLOCATOR_ENV = {"MALLOC_ARENA_MAX": "2"}
"""The memory limit is an address-space rlimit, and glibc reserves 64 MiB of address space
for each thread's malloc arena: ipykernel 7's dozen threads took ~650 MiB of a 1 GiB limit
before any student code ran, so a notebook that made a 50 MB string left too little for numpy's
OpenBLAS buffer, which then ``exit(1)``-ed the kernel at the next bridge call. Two arenas keep
the limit close to the memory the kernel really uses."""


class LocalSandbox:
    name = "local"

    def __init__(self, python: str = sys.executable) -> None:
        self.python = python

    @contextmanager
    def kernel(self, request: KernelRequest) -> Iterator[Kernel]:
        for target, host in iter_mount_links(request):
            _copy_read_only(host, target)
        with _lease() as lease:
            argv = tethered(self.command(request), lease=lease.path, python=self.python)
            km = CommandKernelManager(argv)
            try:
                yield Kernel(km)
            finally:
                _kill_group(km)

    def command(self, request: KernelRequest) -> list[str]:
        limits = request.limits
        env = {**ALLOCATOR_ENV, **kernel_env(request, home=str(request.workdir))}
        cpu_seconds = math.ceil(limits.total_timeout * max(1.0, limits.cpus)) + 30
        argv = [
            self.python,
            "-I",
            "-S",
            str(Path(launch.__file__)),
            "--memory-mb",
            str(limits.memory_mb),
            "--cpu-seconds",
            str(cpu_seconds),
            "--pids",
            str(_user_tasks() + limits.pids),
            "--file-mb",
            str(limits.disk_mb),
            "--cwd",
            str(request.workdir),
        ]
        for key, value in env.items():
            argv += ["--env", f"{key}={value}"]
        return [*argv, "--", self.python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]


@contextmanager
def _lease() -> Iterator[Lease]:
    """A lease in a folder of its own, both gone when the kernel is."""
    folder = Path(tempfile.mkdtemp(prefix=scratch.prefix("lease")))
    try:
        with Lease(folder / "lease") as lease:
            yield lease
    finally:
        scratch.remove(folder)


def _copy_read_only(host: Path, target: Path) -> None:
    """A copy, not a link: ``data/../hidden`` must not lead back into the assignment."""
    if target.exists():
        return
    shutil.copytree(host, target, symlinks=False)
    for root, _dirs, files in os.walk(target):
        for name in files:
            os.chmod(Path(root) / name, 0o444)


def _user_tasks() -> int:
    """Processes and threads this user runs now (RLIMIT_NPROC counts them all)."""
    uid, count = os.getuid(), 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid == uid:
                count += len(os.listdir(f"/proc/{entry.name}/task"))
        except OSError:
            continue
    return count


def _kill_group(km: AsyncKernelManager) -> None:
    """SIGKILL the kernel's whole process group, then release what the manager holds here."""
    provisioner = km.provisioner
    pid = getattr(provisioner, "pid", None) if provisioner is not None else None
    if pid:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        _reap(getattr(provisioner, "process", None), pid)
    release(km)


def _reap(process: subprocess.Popen[bytes] | None, pid: int) -> None:
    """Wait for the killed kernel (SIGKILL cannot be ignored: at once), through its ``Popen``
    when it has one, which then no longer counts it as running."""
    if process is not None:
        process.wait()
        return
    with suppress(ChildProcessError):
        os.waitpid(pid, 0)
