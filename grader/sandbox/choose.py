"""Pick a sandbox backend by name (the CLI's ``--backend``)."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports Backend without the kernel stack
    from grader.sandbox.base import Sandbox


class Backend(StrEnum):
    LOCAL = "local"
    DOCKER = "docker"


NO_ZYGOTE = "GRADER_NO_ZYGOTE"
"""Set to 1 to start every local kernel as a new process (the benchmarks' baseline, and a way
out should a forked kernel ever misbehave)."""


def make_sandbox(backend: Backend, *, many: bool = False) -> Sandbox:
    """``many``: the caller will start many kernels (a batch worker, validate), so the local
    backend forks them from a zygote (``sandbox/forked.py``) unless ``GRADER_NO_ZYGOTE=1``."""
    if backend is Backend.LOCAL:
        from grader.sandbox.local import LocalSandbox

        return LocalSandbox(zygote=many and os.environ.get(NO_ZYGOTE) != "1")
    from grader.sandbox.docker import DockerSandbox

    return DockerSandbox()


def remove_kernels_of(pid: int, *, backend: Backend | None = None) -> list[str]:
    """Kill what process ``pid`` started in a sandbox and has not cleaned up (it was killed, or
    it is this process giving up): its Docker containers (when ``backend`` is Docker, or None
    and Docker was used here) and, for this process, its local kernels. Never raises."""
    removed: list[str] = []
    if pid == os.getpid():
        from grader.sandbox.processes import reap_orphans

        removed += [f"kernel {p}" for p in reap_orphans()]
    docker_used = "grader.sandbox.docker" in sys.modules
    if backend is Backend.DOCKER or (backend is None and docker_used):
        from grader.sandbox.docker import remove_owned_by

        removed += remove_owned_by(pid)
    return removed
