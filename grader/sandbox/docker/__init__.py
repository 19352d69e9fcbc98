"""The Docker backend: each kernel in a fresh, locked-down container.

:mod:`.container` (DockerSandbox and the container's configuration), :mod:`.kernel` (the kernel
launch), :mod:`.engine` (the engine, and the one place its errors are translated), :mod:`.image`
(the runtime image: recipe shipped in ``recipe/``, tag and build), :mod:`.forbidden`
(forbidden modules hidden from every process), :mod:`.doctor` (what is missing, with the
fix), :mod:`.housekeeping` (leftovers), :mod:`.files` (reading a workdir).
"""

from grader.sandbox.docker.container import (
    LABEL,
    LABEL_RUN_DIR,
    DockerSandbox,
    container_config,
    sandbox_user,
)
from grader.sandbox.docker.engine import connect, docker_errors, docker_host
from grader.sandbox.docker.files import safe_read
from grader.sandbox.docker.housekeeping import prune, remove_owned_by
from grader.sandbox.docker.kernel import DockerKernelManager, InitProcess

__all__ = [
    "LABEL",
    "LABEL_RUN_DIR",
    "DockerKernelManager",
    "DockerSandbox",
    "InitProcess",
    "connect",
    "container_config",
    "docker_errors",
    "docker_host",
    "prune",
    "remove_owned_by",
    "safe_read",
    "sandbox_user",
]
