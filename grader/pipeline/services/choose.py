"""The service backend that goes with a kernel sandbox, and the image an app runs in."""

from __future__ import annotations

from grader.core.spec import Assignment
from grader.pipeline.services.base import ServiceHost
from grader.sandbox.base import Sandbox
from grader.sandbox.docker.image import runtime_image_tag

EXTENSION_REPO = "dl-grader-runtime-ext"
"""Images that extend the runtime image for one assignment (see grader.pipeline.services.image)."""


def services_for(sandbox: Sandbox) -> ServiceHost:
    """Apps run where kernels would: Docker for Docker, this machine's processes otherwise.
    A sandbox may carry its own ``services`` (tests inject fakes that way)."""
    own = getattr(sandbox, "services", None)
    if own is not None:
        return own  # type: ignore[no-any-return]
    if sandbox.name == "docker":
        from grader.pipeline.services.docker import DockerServices

        return DockerServices(client=getattr(sandbox, "client", None))
    from grader.pipeline.services.local import LocalServices

    return LocalServices()


def extension_tag(assignment_id: str) -> str:
    """The stable alias of an assignment's image extension."""
    return f"{EXTENSION_REPO}:{assignment_id}"


def app_image(spec: Assignment) -> str:
    """The image an app of ``spec`` runs in: its extension, else the runtime image."""
    if spec.service is not None and spec.service.image:
        return extension_tag(spec.id)
    return runtime_image_tag()
