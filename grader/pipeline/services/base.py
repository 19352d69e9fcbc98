"""The service seam: a sandbox runs a long-lived app (a web server) and the host reaches one
of its ports, and nothing else, through a unix socket.

A backend (``docker``, ``local``, a fake in tests) only starts and stops the app; readiness,
deadlines and verdicts are the caller's (:mod:`.ready`). Inside the sandbox the
app listens on TCP ``port`` as it would anywhere (``PORT`` in its environment); a forwarder
started with it (``inside/forward.py``) carries connections made to ``socket`` on the host to
that port. The container has no network at all, so the host needs no network either: tests
talk HTTP over the socket (:func:`grader.pipeline.services.http.client`), and a browser reaches it
through a host-side proxy on loopback (:mod:`grader.pipeline.services.proxy`).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from grader.core.spec import Resources

INSIDE = Path(__file__).resolve().parent / "inside"
"""Trusted helpers mounted read-only into a service sandbox: the forwarder and the network
audit hook (``sitecustomize.py``, on ``PYTHONPATH``)."""
EGRESS_MARK = "dl-grader: network access attempted: "
"""Prefix of the lines the audit hook writes to the app's stderr (see inside/sitecustomize.py)."""


@dataclass(frozen=True)
class ServiceRequest:
    """What an app needs to run."""

    workdir: Path
    """Host folder holding the copy of the submission; the app starts in (a copy of) it."""
    command: tuple[str, ...]
    """How the app starts, run in the workdir, e.g. ("python", "app.py")."""
    port: int
    """The TCP port the app listens on inside the sandbox (given to it as ``PORT``)."""
    limits: Resources
    image: str | None = None
    """The image to run (Docker); None = the backend's default."""
    env: Mapping[str, str] = field(default_factory=dict)
    label: str = ""
    entrypoint_from_image: bool = False
    """Docker: run the image's own entrypoint and command instead of ``command`` (a student's
    own image, for a Docker bonus)."""


@dataclass(frozen=True)
class ServiceExit:
    """How an app ended."""

    code: int | None
    """Exit status (128 + n for signal n); None when unknown."""
    out_of_memory: bool = False


class RunningService(Protocol):
    """An app that was started; the handle the caller polls and talks to."""

    @property
    def socket(self) -> Path:
        """Host path of the unix socket that reaches the app's port."""
        ...

    def exited(self) -> ServiceExit | None:
        """None while the app runs; how it ended once it has."""
        ...

    def logs(self, max_bytes: int = 64 * 1024) -> str:
        """The end of the app's output (untrusted text: the caller escapes it)."""
        ...


class ServiceHost(Protocol):
    """A backend that runs apps somewhere safe."""

    name: str

    def service(self, request: ServiceRequest) -> AbstractContextManager[RunningService]:
        """Start the app; on exit, stop and remove everything it had, on every path."""
        ...


def service_env(request: ServiceRequest, *, home: str) -> dict[str, str]:
    """The scrubbed environment of an app, whatever the backend."""
    threads = str(max(1, int(request.limits.cpus)))
    port = str(request.port)
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "PORT": port,
        "GRADIO_SERVER_PORT": port,
        "GRADIO_ANALYTICS_ENABLED": "False",
        "GRADIO_SHARE": "False",
        "STREAMLIT_SERVER_PORT": port,
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "GRADER_SANDBOX": "1",
        **request.env,
    }


def egress_attempts(log: str) -> list[str]:
    """Destinations the app tried to reach, from the audit hook's lines in its output."""
    found = []
    for line in log.splitlines():
        if line.startswith(EGRESS_MARK):
            where = line[len(EGRESS_MARK) :].strip()[:200]
            if where and where not in found:
                found.append(where)
    return found
