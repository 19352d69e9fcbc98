"""The Docker engine: where it is, a client for it, and the one place its errors are translated.

Every call into the Docker SDK that may fail for a reason the user must act on runs inside
:func:`docker_errors`, which turns the SDK's and ``requests``' exceptions into
:class:`~grader.core.errors.SandboxError` with a message and a fix. Best-effort calls (a signal
to a container that may be gone, a removal during cleanup) catch :data:`ENGINE_ERRORS` instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import docker
from docker.errors import APIError, DockerException, ImageNotFound
from requests.exceptions import RequestException

from grader.core.errors import SandboxError

DEFAULT_HOST = "unix:///var/run/docker.sock"
DOCTOR_HINT = "is the Docker daemon running? try `grade doctor`"
ENGINE_ERRORS = (DockerException, RequestException)
"""What a call into the engine may raise when the engine is down or refuses."""


@contextmanager
def docker_errors(
    doing: str, *, hint: str = DOCTOR_HINT, refused_hint: str = "", image_hint: str = ""
) -> Iterator[None]:
    """Raise :class:`SandboxError` ``"<doing>: <reason>"`` for an engine error in the block.

    ``image_hint`` is the fix when an image is missing, ``refused_hint`` when the engine
    answered but refused the request (a bad mount, a bad limit); ``hint`` for the rest.
    """
    try:
        yield
    except SandboxError:
        raise
    except ImageNotFound as exc:
        raise SandboxError(
            f"{doing}: image missing ({_reason(exc)})",
            hint=image_hint or "build it with `grade image build`",
        ) from None
    except APIError as exc:
        detail = exc.explanation or _reason(exc)
        raise SandboxError(f"{doing}: Docker refused: {detail}", hint=refused_hint or hint) from exc
    except ENGINE_ERRORS as exc:
        raise SandboxError(f"{doing}: {_reason(exc)}", hint=hint) from exc


def docker_host() -> str:
    """The engine to use: ``DOCKER_HOST``, else the Docker CLI's current context."""
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    try:
        context = docker.ContextAPI.get_current_context()
    except DockerException:
        return DEFAULT_HOST
    return str(getattr(context, "Host", None) or DEFAULT_HOST)


def connect(*, host: str | None = None, timeout: float = 30) -> Any:
    """A Docker SDK client for ``host``; :class:`SandboxError` saying what to do if it fails."""
    host = host or docker_host()
    with docker_errors(f"cannot reach the Docker engine at {host}"):
        client = docker.DockerClient(base_url=host, timeout=int(timeout))
        client.ping()
    return client


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "No such file" in text or "FileNotFoundError" in text:
        return "no Docker socket there"
    if "Permission denied" in text:
        return "permission denied (add yourself to the docker group or use sudo)"
    return text.splitlines()[0][:200] if text else type(exc).__name__
