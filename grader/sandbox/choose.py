"""Pick a sandbox backend by name (the CLI's ``--backend``)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports Backend without the kernel stack
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
