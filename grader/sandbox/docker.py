"""DockerSandbox: each submission's kernel runs in a fresh, locked-down container.

nbclient and the tests stay on the host; only the ipykernel runs in the container. The
container has no network (``--network none``): the kernel's ZMQ sockets use the *ipc*
transport, as socket files in a private host folder bind-mounted at the same path inside; the
connection file sits next to it in a read-only mount. The container is created and started
with the SDK (its whole configuration is in :func:`container_config`); the process the kernel
manager watches is ``docker wait <id>``, which lives exactly as long as the container, so
jupyter_client's liveness checks work unchanged. Signals and kills go through the Docker API.
A dead kernel is also seen directly, as the end of the container's init process on this host:
the engine records an exit (and ``docker wait`` returns) only after it has torn the task down,
under load seconds later, and a crash seen that late would be judged a time-out.

On exit the container, its socket folder and the connection file are removed, on every path.
Leftovers of a killed grader (labelled ``dl-grader.sandbox``) are removed by
``grade sandbox prune`` and, at the latest, end with the container's lifetime.
See docs/docker.md for the threat model.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.types import DeviceRequest, LogConfig, Ulimit
from docker.types import Mount as DockerMount
from jupyter_client.manager import AsyncKernelManager
from requests.exceptions import RequestException

from grader.errors import PayloadRejected, SandboxError
from grader.image import runtime_image_tag
from grader.sandbox.base import CommandKernelManager, KernelRequest, kernel_env, release
from grader.spec import Resources

log = logging.getLogger(__name__)

LABEL = "dl-grader.sandbox"
LABEL_RUN_DIR = "dl-grader.run-dir"
RUN_DIR_PREFIX = "dlg-"
SANDBOX_UID = 10001
"""The image's user; the container runs as it when the grader runs as root."""
HOME = "/home/grader"
PYTHON = "/opt/venv/bin/python"
CONNECTION_FILE = "conn/kernel.json"
"""In ``run_dir``, mounted read-only: the sandbox cannot swap it for a symlink."""
SOCKETS = "ipc/k"
"""Prefix of the kernel's ipc sockets in ``run_dir``; ``ipc/`` is the one writable folder."""
SOURCE = "/submission"
"""Where the submission's copy is mounted read-only when the workdir is a tmpfs."""
MIB = 1024 * 1024
SIGKILLED = 128 + signal.SIGKILL
"""The container's exit code when the kernel was SIGKILLed (the OOM killer, or a kill)."""
RECORD_WAIT = 15.0
"""Seconds :meth:`DockerKernelManager.exit_reason` waits for the engine to record an exit."""
OOM_GRACE = 1.0
"""Seconds more it waits for an out-of-memory event handled after a SIGKILLed kernel's exit."""
DEFAULT_HOST = "unix:///var/run/docker.sock"
DOCTOR_HINT = "is the Docker daemon running? try `grade doctor`"

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
        """``image`` defaults to :func:`grader.image.runtime_image_tag` (GPU variant when the
        request has GPUs); ``lifetime`` caps a container's life in seconds even if the grader
        dies (default: 4x the notebook's time limit, at least an hour). ``workdir``: "tmpfs"
        (the kernel works in a size-capped copy; nothing it writes reaches the host) or
        "bind" (the host folder itself, read-write: to look at what a notebook wrote)."""
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

    @contextmanager
    def kernel(self, request: KernelRequest) -> Iterator[AsyncKernelManager]:
        cli = self._cli()
        image = self._image(request)
        run_dir = Path(tempfile.mkdtemp(prefix=RUN_DIR_PREFIX))
        user = sandbox_user()
        container = None
        km: DockerKernelManager | None = None
        try:
            _prepare_dirs(request, run_dir=run_dir, user=user, bind=self.workdir == "bind")
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
            yield km
        finally:
            _destroy(km, container, run_dir)

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
        try:
            self.client.images.get(image)
        except ImageNotFound:
            raise SandboxError(
                f"the sandbox image {image} is missing",
                hint="build it with `grade image build`" + (" --gpu" if request.gpus else ""),
            ) from None
        except (DockerException, RequestException) as exc:
            raise SandboxError(f"cannot reach the Docker engine: {exc}", hint=DOCTOR_HINT) from exc
        return image

    def _hidden(self, image: str, names: tuple[str, ...]) -> dict[str, list[str]]:
        """Where each of ``names`` lives in ``image`` (asked once per image and names)."""
        key = (image, tuple(sorted(names)))
        if names and key not in self._places:
            self._places[key] = module_places(self.client, image, key[1])
        return self._places.get(key, {})

    def _lifetime(self, request: KernelRequest) -> float:
        return self.lifetime or max(3600.0, 4 * request.limits.total_timeout)


class DockerKernelManager(CommandKernelManager):
    """A kernel manager for a created (not started) container; ipc transport.

    ``start_kernel`` starts the container through the API; the process jupyter_client watches
    is ``docker wait <id>``, which ends when the container does (no output passes through it).
    """

    def __init__(
        self, *, container: Any, run_dir: Path, user: tuple[int, int], cli: str, host: str
    ) -> None:
        super().__init__(
            [cli, "wait", container.id],
            transport="ipc",
            ip=str(run_dir / SOCKETS),
            connection_file=str(run_dir / CONNECTION_FILE),
        )
        self.container = container
        self._user = user
        self._host = host
        self._last_state: dict[str, Any] = {}
        self._gone = False
        self._init: InitProcess | None = None

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        if os.geteuid() == 0:  # the file is 0600: hand it to the sandbox user
            os.chown(self.connection_file, *self._user, follow_symlinks=False)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        """Start the container through the API, then watch it with ``docker wait``."""
        self._unseal_sockets()
        self._init = None
        try:
            await asyncio.to_thread(self.container.start)
        except (DockerException, RequestException) as exc:
            raise SandboxError(
                f"the sandbox container did not start: {_reason(exc)}", hint=DOCTOR_HINT
            ) from exc
        self._init = await asyncio.to_thread(InitProcess.of, self.container)
        env = {k: v for k, v in os.environ.items() if k != "DOCKER_CONTEXT"}
        kw.update(
            env={**env, "DOCKER_HOST": self._host},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        kw.pop("cwd", None)
        await super()._async_launch_kernel(kernel_cmd, **kw)

    async def _async_post_start_kernel(self, **kw: Any) -> None:
        await super()._async_post_start_kernel(**kw)
        await self._seal_sockets()

    @property
    def socket_dir(self) -> Path:
        return Path(self.ip).parent

    def _socket_files(self) -> list[Path]:
        ports = (self.shell_port, self.iopub_port, self.stdin_port, self.control_port, self.hb_port)
        return [Path(f"{self.ip}-{port}") for port in ports]

    async def _seal_sockets(self, timeout: float = 60) -> None:
        """Once the kernel has bound its sockets (before any student code runs), take the
        socket folder back: the sandbox can no longer add, replace or fill files there.

        Only as root: an ordinary grader shares its uid with the sandbox, which could undo it.
        """
        if os.geteuid() != 0:
            return
        deadline = time.monotonic() + timeout
        while not all(_is_socket(path) for path in self._socket_files()):
            if not await self._async_is_alive():
                return  # the kernel did not come up; the caller sees it die
            if time.monotonic() > deadline:
                log.warning("socket folder %s not sealed: the kernel is slow", self.socket_dir)
                return
            await asyncio.sleep(0.02)
        os.chown(self.socket_dir, 0, 0)
        os.chmod(self.socket_dir, 0o755)

    def _unseal_sockets(self) -> None:
        """Before a (re)start: the kernel must be able to bind its sockets."""
        if os.geteuid() == 0:
            os.chown(self.socket_dir, *self._user)
            os.chmod(self.socket_dir, 0o700)

    async def _async_signal_kernel(self, signum: int) -> None:
        """Signals go to the container's init, which passes them to the kernel."""
        try:
            self.container.kill(signal=int(signum))
        except (APIError, RequestException) as exc:
            log.debug("signal %s to %s: %s", signum, self.container.id[:12], exc)

    async def _async_kill_kernel(self, restart: bool = False) -> None:
        await self._async_signal_kernel(signal.SIGKILL)
        await super()._async_kill_kernel(restart=restart)

    async def _async_is_alive(self) -> bool:
        """Dead once ``docker wait`` has returned, or as soon as the container's init process
        has ended (within milliseconds of the kernel: its child ``timeout`` exits with it).

        ``docker wait`` alone is late: dockerd records an exit only after deleting the task,
        waiting up to 2 s for the log streams and unmounting, and the CLI must then be
        scheduled. Under load that takes seconds, and a kernel that crashed early in a cell
        would still look alive when the cell's time runs out: a crash judged a time-out.
        """
        if not await super()._async_is_alive():
            return False
        return self._init is None or self._init.alive()

    is_alive = _async_is_alive  # type: ignore[assignment]  # the base binds its own function

    def _ended(self) -> bool:
        """The kernel was started and has ended (synchronous; see ``_async_is_alive``)."""
        process = getattr(self.provisioner, "process", None) if self.has_kernel else None
        if process is None:
            return False
        return process.poll() is not None or (self._init is not None and not self._init.alive())

    def exit_reason(self, wait: float = RECORD_WAIT) -> str | None:
        """'out_of_memory' when the container's memory limit killed the kernel, else None.

        The kernel is seen dead before the engine has recorded why (see ``_async_is_alive``):
        until it has, this waits (at most ``wait`` s), and for a SIGKILLed kernel
        :data:`OOM_GRACE` s more, as the engine may handle the out-of-memory event after the
        exit. A kernel still running, or never started, is answered at once.
        """
        state = self.state()
        if not self._ended():
            return "out_of_memory" if state.get("OOMKilled") else None
        deadline = time.monotonic() + wait
        while _running(state) and not self._gone and time.monotonic() < deadline:
            time.sleep(0.05)
            state = self.state()
        if not _running(state) and state.get("ExitCode") == SIGKILLED:
            grace = min(deadline, time.monotonic() + OOM_GRACE)
            while not state.get("OOMKilled") and not self._gone and time.monotonic() < grace:
                time.sleep(0.05)
                state = self.state()
        return "out_of_memory" if state.get("OOMKilled") else None

    def state(self) -> dict[str, Any]:
        """The container's state (Status, ExitCode, OOMKilled...), last known if it is gone."""
        try:
            self.container.reload()
        except NotFound:
            self._gone = True
        except (DockerException, RequestException):
            pass
        else:
            self._last_state = dict(self.container.attrs.get("State") or {})
        return self._last_state


def _running(state: dict[str, Any]) -> bool:
    return bool(state.get("Running")) or state.get("Status") in ("running", "restarting")


@dataclass(frozen=True)
class InitProcess:
    """The container's init process (``docker-init``) as this host sees it, in ``/proc``.

    It ends right after the kernel does, long before the engine has recorded the exit. Only a
    process verified when the container started is trusted: its cgroup names the container.
    """

    pid: int
    started: str
    """Its start time (field 22 of ``/proc/<pid>/stat``): a reused pid is another process."""

    @classmethod
    def of(cls, container: Any) -> InitProcess | None:
        """The started container's init, or None where this host cannot see it (another pid
        namespace: a remote engine, a grader in a container) or it has already ended."""
        with suppress(DockerException, RequestException):
            container.reload()
        state = getattr(container, "attrs", {}).get("State") or {}
        pid = state.get("Pid")
        if not isinstance(pid, int) or pid <= 0:
            return None
        try:
            cgroups = Path(f"/proc/{pid}/cgroup").read_text(encoding="utf-8", errors="replace")
            fields = _proc_stat(pid)
        except (OSError, ValueError):
            return None
        if str(container.id) not in cgroups or fields[0] in DEAD_STATES:
            return None
        return cls(pid, fields[19])

    def alive(self) -> bool:
        """False once it has exited (a zombie, reaped, or its pid reused); True when it runs or
        when ``/proc`` cannot tell (then ``docker wait`` decides)."""
        try:
            fields = _proc_stat(self.pid)
        except (FileNotFoundError, ProcessLookupError):
            return False
        except (OSError, ValueError):
            return True
        return fields[19] == self.started and fields[0] not in DEAD_STATES


DEAD_STATES = frozenset("ZXx")
"""``/proc/<pid>/stat`` states of a process that has exited (zombie, dead)."""


def _proc_stat(pid: int) -> list[str]:
    """Fields of ``/proc/<pid>/stat`` after the command name: [0] state, [19] start time."""
    text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    fields = text[text.rindex(")") + 1 :].split()
    if len(fields) < 20:
        raise ValueError(f"short /proc/{pid}/stat")
    return fields


def _is_socket(path: Path) -> bool:
    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except OSError:
        return False


FORBIDDEN_STUB = "forbidden"
"""Folder in ``run_dir`` holding the package mounted over each forbidden module."""
_STUB_INIT = """\
class ForbiddenImportError(ModuleNotFoundError):
    pass


raise ForbiddenImportError(f"{__name__!r} may not be used in this assignment")
"""
_FIND_MODULES = """\
import importlib.machinery, json, os, sys
out = {}
for name in sys.argv[1:]:
    try:
        spec = importlib.machinery.PathFinder.find_spec(name)
    except Exception:
        spec = None
    if spec is None:
        continue
    places = list(spec.submodule_search_locations or [])
    if not places and spec.origin and os.path.isabs(spec.origin):
        places = [os.path.join(os.path.dirname(spec.origin), name)]  # a package there wins
    out[name] = places
print(json.dumps(out))
"""


def module_places(client: Any, image: str, names: tuple[str, ...]) -> dict[str, list[str]]:
    """Module name → the folders a stub package must cover to hide it inside ``image``."""
    try:
        out = client.containers.run(
            image,
            [PYTHON, "-c", _FIND_MODULES, *names],
            network_mode="none",
            remove=True,
            user=f"{sandbox_user()[0]}:{sandbox_user()[1]}",
            read_only=True,
        )
        found = json.loads(out.decode("utf-8").strip().splitlines()[-1])
    except (DockerException, RequestException, ValueError, IndexError) as exc:
        log.warning("cannot find %s in %s (%s): only the kernel refuses them", names, image, exc)
        return {}
    return {
        str(n): [str(p) for p in places if PurePosixPath(str(p)).is_absolute()]
        for n, places in found.items()
    }


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
    ``hidden`` (from :func:`module_places`) gets a stub package mounted over each place."""
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
            *_stub_mounts(run_dir, hidden or {}),
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
    """The kernel, under coreutils' timeout (no container outlives a crashed grader forever);
    with ``copy_in``, first the submission is copied into the tmpfs workdir."""
    deadline = f"{int(lifetime)}s"
    kernel = [PYTHON, "-m", "ipykernel_launcher", "-f", str(run_dir / CONNECTION_FILE)]
    command = ["timeout", "--foreground", "--signal=KILL", deadline, *kernel]
    if not copy_in:
        return command
    # errors (a file over the size cap, a name taken by a read-only data mount) are logged
    # by cp in the container's log; the kernel starts with what fits.
    script = f'cp -R -p {SOURCE}/. . || true; exec "$@"'
    return ["/bin/sh", "-c", script, "sh", *command]


def _labels(request: KernelRequest) -> dict[str, str]:
    return {
        LABEL: "1",
        "dl-grader.submission": request.label or request.workdir.name,
        "dl-grader.host": socket.gethostname(),
        "dl-grader.pid": str(os.getpid()),
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


def _stub_mounts(run_dir: Path, hidden: dict[str, list[str]]) -> list[DockerMount]:
    """The stub package, read-only, over every place a forbidden module is found: whatever
    imports it inside the container (a subprocess, a loader on its files) gets the stub."""
    stub = str(run_dir / FORBIDDEN_STUB)
    places = sorted({p for found in hidden.values() for p in found})
    return [DockerMount(place, stub, type="bind", read_only=True) for place in places]


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
    stub = run_dir / FORBIDDEN_STUB
    stub.mkdir()
    stub.chmod(0o755)
    (stub / "__init__.py").write_text(_STUB_INIT, encoding="utf-8")
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
    try:
        return client.containers.create(**config)
    except ImageNotFound:
        raise SandboxError(
            f"the sandbox image {config['image']} is missing",
            hint="build it with `grade image build`",
        ) from None
    except APIError as exc:  # the engine answered: the request is wrong
        raise SandboxError(
            f"Docker refused the sandbox container: {exc.explanation or exc}",
            hint="check the mounts (public data folders must exist) and limits",
        ) from exc
    except (DockerException, RequestException) as exc:
        raise SandboxError(f"cannot create the sandbox container: {exc}", hint=DOCTOR_HINT) from exc


def _destroy(km: DockerKernelManager | None, container: Any, run_dir: Path) -> None:
    """Remove the container, stop `docker wait`, delete sockets and connection file."""
    try:
        if container is not None:
            if km is not None:
                km.state()  # keep the final state for exit_reason()
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
    except (DockerException, RequestException) as exc:
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
    try:
        client = docker.DockerClient(base_url=host, timeout=int(timeout))
        client.ping()
    except (DockerException, RequestException) as exc:
        raise SandboxError(
            f"cannot reach the Docker engine at {host}: {_reason(exc)}", hint=DOCTOR_HINT
        ) from exc
    return client


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "No such file" in text or "FileNotFoundError" in text:
        return "no Docker socket there"
    if "Permission denied" in text:
        return "permission denied (add yourself to the docker group or use sudo)"
    return text.splitlines()[0][:200] if text else type(exc).__name__


def prune(*, client: Any, everything: bool = False) -> list[str]:
    """Remove sandbox containers left by graders that are gone (all of ours if ``everything``).

    Returns the names removed.
    """
    removed = []
    for container in client.containers.list(all=True, filters={"label": LABEL}):
        labels = container.labels or {}
        if everything or _orphaned(labels):
            _remove(container)
            _remove_run_dir(labels.get(LABEL_RUN_DIR, ""))
            removed.append(str(container.name))
    return removed


def remove_owned_by(pid: int) -> list[str]:
    """Remove the sandbox containers that process ``pid`` of this host started (a grading
    worker that was killed); returns their names. Never raises: Docker may be gone too."""
    try:
        client = connect(timeout=10)
    except SandboxError:
        return []
    labels = [LABEL, f"dl-grader.pid={pid}", f"dl-grader.host={socket.gethostname()}"]
    removed = []
    try:
        for container in client.containers.list(all=True, filters={"label": labels}):
            _remove(container)
            removed.append(str(container.name))
    except (DockerException, RequestException) as exc:
        log.warning("could not list the sandbox containers of process %s: %s", pid, exc)
    finally:
        client.close()
    return removed


def _remove_run_dir(path: str) -> None:
    """The socket/connection folder of a container whose grader died (ours only)."""
    run_dir = Path(path)
    ours = run_dir.parent == Path(tempfile.gettempdir()) and run_dir.name.startswith(RUN_DIR_PREFIX)
    if path and ours and not run_dir.is_symlink():
        shutil.rmtree(run_dir, ignore_errors=True)


def _orphaned(labels: dict[str, str]) -> bool:
    """Made on this host by a process that no longer runs."""
    if labels.get("dl-grader.host") != socket.gethostname():
        return False
    pid = int(labels.get("dl-grader.pid", "0")) if labels.get("dl-grader.pid", "").isdigit() else 0
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def safe_read(workdir: Path, name: str, *, max_bytes: int = 64 * MIB) -> bytes:
    """Read ``workdir/name`` after the sandbox has had it, never following a symlink.

    Every component is opened with ``O_NOFOLLOW`` relative to the previous one; only a
    regular file of at most ``max_bytes`` is read. Anything else raises PayloadRejected.
    """
    parts = _relative_parts(name)
    fd = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            flags = os.O_NONBLOCK | os.O_NOCTTY if last else os.O_DIRECTORY
            parent, fd = fd, _open_at(fd, part, os.O_RDONLY | flags, name)
            os.close(parent)
        return _read_regular(fd, name, max_bytes)
    finally:
        os.close(fd)


def _relative_parts(name: str) -> tuple[str, ...]:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise PayloadRejected(f"{name!r} is not a plain relative path")
    return path.parts


def _open_at(dir_fd: int, part: str, flags: int, name: str) -> int:
    try:
        return os.open(part, flags | os.O_NOFOLLOW, dir_fd=dir_fd)
    except OSError as exc:
        raise PayloadRejected(
            f"cannot open {name!r}: {exc.strerror} (symlinks are refused)"
        ) from None


def _read_regular(fd: int, name: str, max_bytes: int) -> bytes:
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        raise PayloadRejected(f"{name!r} is not a regular file")
    chunks, size = [], 0
    while chunk := os.read(fd, min(MIB, max_bytes + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise PayloadRejected(f"{name!r} is larger than {max_bytes} bytes")
    return b"".join(chunks)
