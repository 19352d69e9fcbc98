"""Apps in locked-down containers: the kernel sandbox's settings, one unix socket out.

The container gets exactly what a kernel's gets (``sandbox.docker.container.locked_down``:
``--network none``, read-only root, no capabilities, non-root, memory/CPU/pids limits, capped
scratch and log). The submission's copy is mounted read-only and copied into a tmpfs workdir;
the trusted helpers (forwarder, audit hook) are mounted read-only at ``/opt/dl-grader``; one
host folder, ``sock/``, is mounted read-write at ``/run/dlg`` for the forwarder's socket and is
sealed (root-owned, read-only to the sandbox) as soon as the socket exists.

Like a kernel's, the container dies with the grader process that owns it: its first process is
a tether (:mod:`grader.sandbox.tether`) to a lease this process holds
(:mod:`grader.sandbox.lease`), both in the run folder's ``conn/``, mounted read-only at the
same path inside; the labels name the owner, so housekeeping removes what a killed grader left.

With ``--network none`` no two sandboxes can reach each other, and the host reaches the app
only through that socket: no port is published, no address is routed.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.types import Mount
from requests.exceptions import RequestException

from grader.core.errors import SandboxError
from grader.pipeline.services.base import INSIDE, ServiceExit, ServiceRequest, service_env
from grader.sandbox import scratch
from grader.sandbox.docker.container import (
    HOME,
    LABEL,
    LABEL_RUN_DIR,
    LEASE,
    PYTHON,
    TETHER,
    locked_down,
    sandbox_user,
    tmpfs_options,
)
from grader.sandbox.docker.engine import DOCTOR_HINT, connect, docker_host
from grader.sandbox.docker.image import runtime_image_tag
from grader.sandbox.lease import Lease, copy_tether, tethered
from grader.sandbox.owner import Owner

RUN_KIND = "svc"
"""Run folders are ``scratch.prefix("svc")``: named after their owner, like the kernel
sandbox's, so housekeeping and `grade sandbox prune` clean both."""
APP_DIR = "/app"
SOURCE = "/submission"
HELPERS = "/opt/dl-grader"
SOCKET_DIR = "/run/dlg"
SOCKET_NAME = "app.sock"
MIB = 1024 * 1024


class DockerService:
    """A running app container (see :class:`grader.pipeline.services.base.RunningService`)."""

    def __init__(self, container: Any, socket_dir: Path) -> None:
        self.container = container
        self._socket_dir = socket_dir
        self._sealed = False
        self._state: dict[str, Any] = {}

    @property
    def socket(self) -> Path:
        self._seal()
        return self._socket_dir / SOCKET_NAME

    def exited(self) -> ServiceExit | None:
        state = self.state()
        if not state or state.get("Running") or state.get("Status") in ("created", "running"):
            return None
        code = state.get("ExitCode")
        return ServiceExit(code if isinstance(code, int) else None, bool(state.get("OOMKilled")))

    def logs(self, max_bytes: int = 64 * 1024) -> str:
        try:
            raw = self.container.logs(stdout=True, stderr=True, tail=2000)
        except (DockerException, RequestException):
            return ""
        return bytes(raw[-max_bytes:]).decode("utf-8", errors="replace")

    def state(self) -> dict[str, Any]:
        with suppress(NotFound, DockerException, RequestException):
            self.container.reload()
            self._state = dict(self.container.attrs.get("State") or {})
        return self._state

    def release(self, timeout: float = 60.0) -> None:
        """Let the app start: as soon as the forwarder's socket exists, seal its folder (as
        root) or say go (otherwise); the forwarder waits for either before starting the app.
        Returns early when the container ends first (the caller sees it)."""
        deadline = time.monotonic() + timeout
        while not self._seal() and time.monotonic() < deadline:
            if self.exited() is not None:
                return
            time.sleep(0.02)
        if os.geteuid() != 0:
            with suppress(OSError):
                (self._socket_dir / "go").touch()

    def _seal(self) -> bool:
        """Once the forwarder's socket exists, the sandbox may no longer change the folder."""
        if self._sealed:
            return True
        path = self._socket_dir / SOCKET_NAME
        with suppress(OSError):
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                if os.geteuid() == 0:
                    os.chown(self._socket_dir, 0, 0)
                    os.chmod(self._socket_dir, 0o755)
                self._sealed = True
        return self._sealed


class DockerServices:
    """Runs apps in containers; ``service(request)`` is the whole API."""

    name = "docker"

    def __init__(
        self, *, image: str | None = None, client: Any = None, lifetime: float | None = None
    ) -> None:
        self.image = image
        self.lifetime = lifetime
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = connect(host=docker_host())
        return self._client

    @contextmanager
    def service(self, request: ServiceRequest) -> Iterator[DockerService]:
        image = self._image(request)
        run_dir = Path(tempfile.mkdtemp(prefix=scratch.prefix(RUN_KIND)))
        user = sandbox_user()
        container = None
        lease: Lease | None = None
        try:
            socket_dir = _prepare(request, run_dir, user)
            lease = Lease(run_dir / LEASE, user=user)
            config = service_config(
                request,
                image=image,
                image_config=self._image_config(image) if request.entrypoint_from_image else {},
                run_dir=run_dir,
                user=user,
                lifetime=self.lifetime or max(3600.0, 2 * request.limits.total_timeout),
            )
            container = _create(self.client, config)
            _start(container)
            service = DockerService(container, socket_dir)
            service.release()
            yield service
        finally:
            if container is not None:
                with suppress(NotFound, DockerException, RequestException):
                    container.remove(force=True)
            if lease is not None:
                lease.close()
            shutil.rmtree(run_dir, ignore_errors=True)

    def _image(self, request: ServiceRequest) -> str:
        image = request.image or self.image or runtime_image_tag()
        try:
            self.client.images.get(image)
        except ImageNotFound:
            raise SandboxError(
                f"the app image {image} is missing",
                hint="build it with `grade image build --offline --assignment ID`",
            ) from None
        except (DockerException, RequestException) as exc:
            raise SandboxError(f"cannot reach the Docker engine: {exc}", hint=DOCTOR_HINT) from exc
        return image

    def _image_config(self, image: str) -> dict[str, Any]:
        return dict(self.client.images.get(image).attrs.get("Config") or {})


def service_config(
    request: ServiceRequest,
    *,
    image: str,
    image_config: dict[str, Any],
    run_dir: Path,
    user: tuple[int, int],
    lifetime: float,
) -> dict[str, Any]:
    """Keyword arguments of ``client.containers.create`` for one app."""
    config = locked_down(request.limits, user)
    own_image = request.entrypoint_from_image
    if not own_image:
        config["tmpfs"][APP_DIR] = tmpfs_options(request.limits.disk_mb, user)
    env = service_env(request, home=HOME)
    env["PATH"] = f"{Path(PYTHON).parent}:{env['PATH']}"
    env["PYTHONPATH"] = HELPERS
    conn = str(run_dir / Path(LEASE).parent)
    mounts = [
        Mount(SOCKET_DIR, str(run_dir / "sock"), type="bind", read_only=False),
        Mount(HELPERS, str(INSIDE), type="bind", read_only=True),
        Mount(conn, conn, type="bind", read_only=True),
    ]
    if not own_image:
        mounts.append(Mount(SOURCE, str(request.workdir.resolve()), type="bind", read_only=True))
    return {
        **config,
        "image": image,
        "name": f"dl-grader-app-{secrets.token_hex(6)}",
        "labels": _labels(request, run_dir),
        "environment": env,
        "mounts": mounts,
        "working_dir": (image_config.get("WorkingDir") or "/") if own_image else APP_DIR,
        **_entry(request, image_config, lifetime, run_dir),
    }


def _entry(
    request: ServiceRequest, image_config: dict[str, Any], lifetime: float, run_dir: Path
) -> Any:
    """Under the tether to the grader's lease, the forwarder (under a deadline) starting the
    app: the request's command in a copy of the submission, or the image's own entrypoint and
    command."""
    forward = [
        "timeout",
        "--signal=KILL",
        f"{int(lifetime)}s",
        PYTHON,
        f"{HELPERS}/forward.py",
        f"{SOCKET_DIR}/{SOCKET_NAME}",
        str(request.port),
        "--wait-seal",
        "--",
    ]
    if request.entrypoint_from_image:
        app = [*(image_config.get("Entrypoint") or []), *(image_config.get("Cmd") or [])]
        if not app:
            raise SandboxError("the image has neither ENTRYPOINT nor CMD: nothing to start")
        return {"entrypoint": _tethered(forward, run_dir), "command": app}
    # errors (a file over the size cap) are in the container's log; the app starts with what fits
    script = f'cp -R -p {SOURCE}/. . 2>&1 | head -5; exec "$@"'
    copy_in = ["/bin/sh", "-c", script, "sh"]
    return {"entrypoint": _tethered(copy_in, run_dir), "command": [*forward, *request.command]}


def _tethered(command: list[str], run_dir: Path) -> list[str]:
    """``command`` under the tether (the image's Python) to the lease in ``run_dir``."""
    script = str(run_dir / TETHER)
    return tethered(
        command, lease=run_dir / LEASE, python=PYTHON, script=script, forward_signals=True
    )


def _labels(request: ServiceRequest, run_dir: Path) -> dict[str, str]:
    return {
        LABEL: "1",
        LABEL_RUN_DIR: str(run_dir),
        "dl-grader.submission": request.label or request.workdir.name,
        **Owner.me().labels(),
    }


def _prepare(request: ServiceRequest, run_dir: Path, user: tuple[int, int]) -> Path:
    """The socket folder (owned by the sandbox user until sealed), the tether's folder; the
    submission readable."""
    socket_dir = run_dir / "sock"
    socket_dir.mkdir(mode=0o700)
    conn = run_dir / Path(LEASE).parent
    conn.mkdir(mode=0o700)
    copy_tether(run_dir / TETHER)
    if os.geteuid() == 0:
        os.chown(socket_dir, *user)
        os.chown(conn, *user)
        _readable(request.workdir)
    return socket_dir


def _readable(root: Path) -> None:
    """The sandbox user must read the submission's copy (ours, never followed through links)."""
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(folder, name)
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode):
                os.chmod(path, stat.S_IMODE(mode) | (0o555 if stat.S_ISDIR(mode) else 0o444))
    os.chmod(root, 0o755)


def _create(client: Any, config: dict[str, Any]) -> Any:
    try:
        return client.containers.create(**config)
    except APIError as exc:
        raise SandboxError(
            f"Docker refused the app container: {exc.explanation or exc}", hint=DOCTOR_HINT
        ) from exc
    except (DockerException, RequestException) as exc:
        raise SandboxError(f"cannot create the app container: {exc}", hint=DOCTOR_HINT) from exc


def _start(container: Any) -> None:
    try:
        container.start()
    except (DockerException, RequestException) as exc:
        raise SandboxError(f"the app container did not start: {exc}", hint=DOCTOR_HINT) from exc
