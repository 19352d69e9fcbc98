"""Pick a sandbox backend by name (the CLI's ``--backend``)."""

from __future__ import annotations

import os
import sys
from enum import StrEnum

from grader.sandbox.base import Sandbox


class Backend(StrEnum):
    LOCAL = "local"
    DOCKER = "docker"


def make_sandbox(backend: Backend) -> Sandbox:
    if backend is Backend.LOCAL:
        from grader.sandbox.local import LocalSandbox

        return LocalSandbox()
    from grader.sandbox.docker import DockerSandbox

    return DockerSandbox()


def remove_kernels_of(pid: int, *, backend: Backend | None = None) -> list[str]:
    """Kill what process ``pid`` started in a sandbox and has not cleaned up (it was killed, or
    it is this process giving up): its Docker containers (when ``backend`` is Docker, or None
    and Docker was used here) and, for this process, its local kernels. Never raises."""
    removed: list[str] = []
    if pid == os.getpid():
        from grader.batch.pool import reap_orphans

        removed += [f"kernel {p}" for p in reap_orphans()]
    docker_used = "grader.sandbox.docker" in sys.modules
    if backend is Backend.DOCKER or (backend is None and docker_used):
        from grader.sandbox.docker import remove_owned_by

        removed += remove_owned_by(pid)
    return removed
