"""DockerSandbox: each submission's kernel runs in a fresh, locked-down container.

nbclient and the tests stay on the host; only the ipykernel runs in the container. The
container has no network (``--network none``): the kernel's ZMQ sockets use the *ipc*
transport, as socket files in a private host folder bind-mounted at the same path inside; the
connection file sits next to it in a read-only mount. The container is created with the SDK
(its whole configuration is in :func:`container_config`) and started by the kernel manager
(:mod:`.kernel`).

On exit the container, its socket folder and the connection file are removed, on every path.
If the grader dies without that cleanup (``kill -9``), the container stops by itself within
moments: its first process is a tether (:mod:`grader.sandbox.tether`) to a lease this process
holds, a unix socket in the read-only connection folder (:mod:`grader.sandbox.lease`). The
stopped container and its folders are removed by the next grade command that starts sandboxes
and by ``grade sandbox prune`` (:mod:`.housekeeping`; labels name the owner process). The
container's lifetime (coreutils' ``timeout``) stays as the last resort. See docs/docker.md for
the threat model.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from docker.errors import NotFound
from docker.types import DeviceRequest, LogConfig, Ulimit
from docker.types import Mount as DockerMount

from grader.core.errors import SandboxError
from grader.core.spec import Resources
from grader.sandbox import scratch
from grader.sandbox.base import Kernel, KernelEnd, KernelRequest, kernel_env, release
from grader.sandbox.docker.engine import ENGINE_ERRORS, connect, docker_errors, docker_host
from grader.sandbox.docker.forbidden import module_places, stub_mounts, write_stub
from grader.sandbox.docker.image import runtime_image_tag
from grader.sandbox.docker.kernel import CONNECTION_FILE, SOCKETS, DockerKernelManager
from grader.sandbox.lease import Lease, copy_tether, tethered
from grader.sandbox.owner import Owner

log = logging.getLogger(__name__)

LABEL = "dl-grader.sandbox"
LABEL_RUN_DIR = "dl-grader.run-dir"
RUN_DIR_PREFIX = "dlg-"
"""Every run folder's name starts so (``scratch.prefix("run")``; older graders: ``dlg-``)."""
LEASE = "conn/lease"
"""In ``run_dir``: the owner's lease; in the read-only mount, so the sandbox cannot swap it."""
TETHER = "conn/tether.py"
"""In ``run_dir``: the tether's source, run by the image's Python (read-only too)."""
SANDBOX_UID = 10001
"""The image's user; the container runs as it when the grader runs as root."""
HOME = "/home/grader"
PYTHON = "/opt/venv/bin/python"
SOURCE = "/submission"
"""Where the submission's copy is mounted read-only when the workdir is a tmpfs."""
MIB = 1024 * 1024

WorkdirMode = Literal["tmpfs", "bind"]


class DockerSandbox:
    """Kernels in containers: no network, limits, non-root, read-only root, capabilities dropped."""

    name = "docker"

    def __init__(
        self,
        *,
        image: str | None = None,
        client: Any = None,
        host: str | None = None,
        docker_cli: str = "docker",
        lifetime: float | None = None,
        workdir: WorkdirMode = "tmpfs",
    ) -> None:
        """``image`` defaults to :func:`~grader.sandbox.docker.image.runtime_image_tag` (GPU
        variant when the request has GPUs); ``lifetime`` caps a container's life in seconds
        even if the grader dies (default: 4x the notebook's time limit, at least an hour).
        ``workdir``: "tmpfs" (the kernel works in a size-capped copy; nothing it writes
        reaches the host) or "bind" (the host folder itself, read-write: to look at what a
        notebook wrote)."""
        self.image = image
        self.workdir = workdir
        self.host = host or docker_host()
        self.docker_cli = docker_cli
        self.lifetime = lifetime
        self._client = client
        self._places: dict[tuple[str, tuple[str, ...]], dict[str, list[str]]] = {}

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = connect(host=self.host)
        return self._client

    def close(self) -> None:
        """Nothing outlives a kernel here: each container is removed with it."""

    @contextmanager
    def kernel(self, request: KernelRequest) -> Iterator[DockerKernel]:
        cli = self._cli()
        image = self._image(request)
        run_dir = Path(tempfile.mkdtemp(prefix=scratch.prefix("run")))
        user = sandbox_user()
        container = None
        km: DockerKernelManager | None = None
        lease: Lease | None = None
        try:
            _prepare_dirs(request, run_dir=run_dir, user=user, bind=self.workdir == "bind")
            lease = Lease(run_dir / LEASE, user=user)
            config = container_config(
                request,
                image=image,
                run_dir=run_dir,
                user=user,
                lifetime=self._lifetime(request),
                workdir=self.workdir,
                hidden=self._hidden(image, request.hidden_modules),
            )
            container = _create(self.client, config)
            km = DockerKernelManager(
                container=container, run_dir=run_dir, user=user, cli=cli, host=self.host
            )
            yield DockerKernel(km)
        finally:
            try:
                _destroy(km, container, run_dir)
            finally:
                if lease is not None:
                    lease.close()

    def _cli(self) -> str:
        cli = shutil.which(self.docker_cli)
        if cli is None:
            raise SandboxError(
                f"the docker command ({self.docker_cli}) is not on PATH",
                hint="install the Docker CLI (apt-get install docker.io); try `grade doctor`",
            )
        return cli

    def _image(self, request: KernelRequest) -> str:
        image = self.image or runtime_image_tag(gpu=bool(request.gpus))
        build = "build it with `grade image build`" + (" --gpu" if request.gpus else "")
        with docker_errors(f"the sandbox image {image} is not usable", image_hint=build):
            self.client.images.get(image)
        return image

    def _hidden(self, image: str, names: tuple[str, ...]) -> dict[str, list[str]]:
        """Where each of ``names`` lives in ``image`` (asked once per image and names)."""
        key = (image, tuple(sorted(names)))
        if names and key not in self._places:
            found = module_places(self.client, image, key[1], python=PYTHON, user=sandbox_user())
            self._places[key] = found
        return self._places.get(key, {})

    def _lifetime(self, request: KernelRequest) -> float:
        return self.lifetime or max(3600.0, 4 * request.limits.total_timeout)


class DockerKernel(Kernel):
    """The handle DockerSandbox yields: its manager knows why the container ended."""

    manager: DockerKernelManager

    def __init__(self, manager: DockerKernelManager) -> None:
        super().__init__(manager)

    def end(self) -> KernelEnd:
        return self.manager.end()


def container_config(
    request: KernelRequest,
    *,
    image: str,
    run_dir: Path,
    user: tuple[int, int],
    lifetime: float,
    workdir: WorkdirMode = "tmpfs",
    hidden: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Keyword arguments of ``client.containers.create`` for one submission's kernel;
    ``hidden`` (from :func:`~.forbidden.module_places`) gets a stub mounted over each place."""
    limits = request.limits
    config = locked_down(limits, user)
    if workdir == "tmpfs":
        config["tmpfs"][str(request.workdir)] = tmpfs_options(limits.disk_mb, user)
    return {
        **config,
        "image": image,
        "command": _command(run_dir, lifetime, copy_in=workdir == "tmpfs"),
        "name": f"dl-grader-{secrets.token_hex(6)}",
        "labels": {**_labels(request), LABEL_RUN_DIR: str(run_dir)},
        "working_dir": str(request.workdir),
        "environment": _environment(request),
        "mounts": [
            *_mounts(request, run_dir, bind=workdir == "bind"),
            *stub_mounts(run_dir, hidden or {}),
        ],
        "device_requests": _device_requests(request.gpus),
    }


def locked_down(limits: Resources, user: tuple[int, int]) -> dict[str, Any]:
    """The settings every sandbox container gets (kernels and services alike): no network,
    read-only root, no capabilities, non-root, the limits, size-capped scratch, a capped log."""
    return {
        "user": f"{user[0]}:{user[1]}",
        "hostname": "sandbox",
        "network_mode": "none",
        "read_only": True,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "init": True,
        "mem_limit": f"{limits.memory_mb}m",
        "memswap_limit": f"{limits.memory_mb}m",
        "nano_cpus": int(limits.cpus * 1e9),
        "pids_limit": limits.pids,
        "tmpfs": _tmpfs(limits.disk_mb, user),
        "shm_size": f"{min(limits.disk_mb, 256)}m",
        "ulimits": _ulimits(limits.disk_mb),
        "log_config": LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"}),
    }


def _command(run_dir: Path, lifetime: float, *, copy_in: bool) -> list[str]:
    """Under the tether to the grader's lease (the container stops when the grader is gone),
    the kernel under coreutils' timeout (the last resort: no container outlives its lifetime);
    with ``copy_in``, first the submission is copied into the tmpfs workdir."""
    deadline = f"{int(lifetime)}s"
    kernel = [PYTHON, "-m", "ipykernel_launcher", "-f", str(run_dir / CONNECTION_FILE)]
    command = ["timeout", "--foreground", "--signal=KILL", deadline, *kernel]
    if copy_in:
        # errors (a file over the size cap, a name taken by a read-only data mount) are logged
        # by cp in the container's log; the kernel starts with what fits.
        script = f'cp -R -p {SOURCE}/. . || true; exec "$@"'
        command = ["/bin/sh", "-c", script, "sh", *command]
    script = str(run_dir / TETHER)
    lease = run_dir / LEASE
    return tethered(command, lease=lease, python=PYTHON, script=script, forward_signals=True)


def _labels(request: KernelRequest) -> dict[str, str]:
    """Ours, for whom, and the owner (this process) as housekeeping can prove it gone."""
    return {
        LABEL: "1",
        "dl-grader.submission": request.label or request.workdir.name,
        **Owner.me().labels(),
    }


def _environment(request: KernelRequest) -> dict[str, str]:
    env = kernel_env(request, home=HOME)
    env["PATH"] = f"{Path(PYTHON).parent}:{env['PATH']}"
    if request.gpus:  # the container sees only its GPUs, numbered from 0
        env.pop("CUDA_VISIBLE_DEVICES", None)
    return env


def _mounts(request: KernelRequest, run_dir: Path, *, bind: bool) -> list[DockerMount]:
    """Read-write: the socket folder (and with ``bind``, the submission's copy); read-only:
    the connection file, public data (and without ``bind``, the copy, at /submission).

    Host folders appear at the same path inside, so paths in the connection file hold.
    """
    workdir = str(request.workdir)
    sockets, conn = run_dir / Path(SOCKETS).parent, run_dir / Path(CONNECTION_FILE).parent
    mounts = [
        DockerMount(workdir if bind else SOURCE, workdir, type="bind", read_only=not bind),
        DockerMount(str(sockets), str(sockets), type="bind", read_only=False),
        DockerMount(str(conn), str(conn), type="bind", read_only=True),
    ]
    for mount in request.mounts:
        target = request.workdir / _relative(mount.target)
        source = str(mount.host.resolve())
        mounts.append(DockerMount(str(target), source, type="bind", read_only=mount.read_only))
    return mounts


def _relative(target: str) -> PurePosixPath:
    path = PurePosixPath(target)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise SandboxError(f"mount target {target!r} must be a relative path inside the workdir")
    return path


def _tmpfs(disk_mb: int, user: tuple[int, int]) -> dict[str, str]:
    """Scratch space; tmpfs pages also count against the container's memory limit."""
    return {
        "/tmp": f"rw,nosuid,nodev,size={disk_mb}m,mode=1777",
        HOME: tmpfs_options(disk_mb, user),
    }


def tmpfs_options(disk_mb: int, user: tuple[int, int]) -> str:
    return f"rw,nosuid,nodev,size={disk_mb}m,uid={user[0]},gid={user[1]},mode=0700"


def _ulimits(disk_mb: int) -> list[Ulimit]:
    """No file bigger than the disk limit (also in the read-write workdir), no core dumps."""
    fsize = disk_mb * MIB
    return [
        Ulimit(name="fsize", soft=fsize, hard=fsize),
        Ulimit(name="core", soft=0, hard=0),
        Ulimit(name="nofile", soft=4096, hard=4096),
    ]


def _device_requests(gpus: tuple[str, ...]) -> list[DeviceRequest]:
    if not gpus:
        return []
    if "all" in gpus:
        return [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    return [DeviceRequest(device_ids=list(gpus), capabilities=[["gpu"]])]


def sandbox_user() -> tuple[int, int]:
    """Never root: the image's user when the grader is root, else the grader's own uid."""
    if os.geteuid() == 0:
        return SANDBOX_UID, SANDBOX_UID
    return os.getuid(), os.getgid()


def _prepare_dirs(
    request: KernelRequest, *, run_dir: Path, user: tuple[int, int], bind: bool
) -> None:
    """Mount points made by us (not by dockerd, as root); folders owned by the sandbox user."""
    for mount in request.mounts:
        target = _relative(mount.target)
        if bind:
            _mount_point(request.workdir, target)
    sockets, conn = run_dir / Path(SOCKETS).parent, run_dir / Path(CONNECTION_FILE).parent
    sockets.mkdir(mode=0o700)
    conn.mkdir(mode=0o700)
    write_stub(run_dir)
    copy_tether(run_dir / TETHER)
    if os.geteuid() == 0:
        _chown_tree(request.workdir, user)
        os.chown(sockets, *user)
        os.chown(conn, *user)


def _mount_point(workdir: Path, relative: PurePosixPath) -> None:
    """Make ``workdir/relative`` a real folder; a symlink or file in the way is removed."""
    point = workdir
    for part in relative.parts:
        point = point / part
        if point.is_symlink() or (point.exists() and not point.is_dir()):
            point.unlink()
        if not point.exists():
            point.mkdir()


def _chown_tree(root: Path, user: tuple[int, int]) -> None:
    """chown -R that never follows a symlink."""
    os.chown(root, *user, follow_symlinks=False)
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            os.chown(os.path.join(folder, name), *user, follow_symlinks=False)


def _create(client: Any, config: dict[str, Any]) -> Any:
    with docker_errors(
        "cannot create the sandbox container",
        refused_hint="check the mounts (public data folders must exist) and limits",
    ):
        return client.containers.create(**config)


def _destroy(km: DockerKernelManager | None, container: Any, run_dir: Path) -> None:
    """Remove the container, stop `docker wait`, delete sockets and connection file."""
    try:
        if container is not None:
            if km is not None:
                km.state()  # keep the final state for end()
            _remove(container)
    finally:
        if km is not None:
            _reap(km)
        shutil.rmtree(run_dir, ignore_errors=True)


def _remove(container: Any) -> None:
    try:
        container.remove(force=True)
    except NotFound:
        pass
    except ENGINE_ERRORS as exc:
        log.warning(
            "could not remove sandbox container %s (%s); `grade sandbox prune` removes it",
            getattr(container, "name", "?"),
            exc,
        )


def _reap(km: DockerKernelManager) -> None:
    """SIGKILL the ``docker wait`` process if it still runs; release the manager's files,
    ports, control socket and zmq context."""
    process = getattr(km.provisioner, "process", None) if km.provisioner is not None else None
    if process is not None and process.poll() is None:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
    release(km)
