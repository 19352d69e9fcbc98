"""Pick a sandbox backend by name (the CLI's ``--backend``); reclaim what killed graders left."""

from __future__ import annotations

import logging
import os
import sys
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports Backend without the kernel stack
    from grader.sandbox.base import Sandbox
    from grader.sandbox.reclaim import Reclaimed

log = logging.getLogger(__name__)


class Backend(StrEnum):
    LOCAL = "local"
    DOCKER = "docker"


def make_sandbox(backend: Backend, *, reclaim: bool = True) -> Sandbox:
    """The sandbox of ``backend``. With ``reclaim`` (what every command that starts sandboxes
    does: a batch's workers leave it to their parent), first remove what graders that are gone
    left behind (:func:`reclaim_leftovers`)."""
    if reclaim:
        reclaim_leftovers(backend)
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
        from grader.sandbox.processes import reap_orphans

        removed += [f"kernel {p}" for p in reap_orphans()]
    docker_used = "grader.sandbox.docker" in sys.modules
    if backend is Backend.DOCKER or (backend is None and docker_used):
        from grader.sandbox.docker import remove_owned_by

        removed += remove_owned_by(pid)
    return removed


def reclaim_leftovers(backend: Backend) -> Reclaimed:
    """Remove the stopped containers (Docker only) and the host folders of graders that are
    gone; never raises: an engine that cannot be reached is for the command to report."""
    from grader.core.errors import SandboxError
    from grader.sandbox.reclaim import Reclaimed, reclaim

    client = None
    if backend is Backend.DOCKER:
        from grader.sandbox.docker.engine import connect

        try:
            client = connect(timeout=10)
        except SandboxError:
            client = None
    try:
        found = reclaim(docker=client)
    except Exception as exc:  # housekeeping never stops grading
        log.warning("could not remove what killed graders left: %s", exc)
        return Reclaimed()
    finally:
        if client is not None:
            client.close()
    if found:
        log.info(
            "removed %d container(s) and %d folder(s) left by killed graders",
            len(found.containers),
            len(found.folders),
        )
    return found
