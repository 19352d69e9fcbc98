"""The kernel launch: a jupyter kernel manager whose kernel is a created container.

The process jupyter_client watches is ``docker wait <id>``, which lives exactly as long as the
container, so its liveness checks work unchanged; signals and kills go through the Docker API.
A dead kernel is also seen directly, as the end of the container's init process on this host
(:class:`InitProcess`): the engine records an exit (and ``docker wait`` returns) only after it
has torn the task down, under load seconds later, and a crash seen that late would be judged a
time-out. :meth:`DockerKernelManager.end` says why the kernel ended, as a
:class:`~grader.sandbox.base.KernelEnd`.

jupyter_client has no public hook for "start it through an API, then watch a process", so the
manager overrides its launch, signal, kill and liveness coroutines; they are all here.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import stat
import subprocess
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docker.errors import NotFound

from grader.sandbox.base import CommandKernelManager, KernelEnd
from grader.sandbox.docker.engine import ENGINE_ERRORS, docker_errors

log = logging.getLogger(__name__)

CONNECTION_FILE = "conn/kernel.json"
"""In ``run_dir``, mounted read-only: the sandbox cannot swap it for a symlink."""
SOCKETS = "ipc/k"
"""Prefix of the kernel's ipc sockets in ``run_dir``; ``ipc/`` is the one writable folder."""
SIGKILLED = 128 + signal.SIGKILL
"""The container's exit code when the kernel was SIGKILLed (the OOM killer, or a kill)."""
RECORD_WAIT = 15.0
"""Seconds :meth:`DockerKernelManager.end` waits for the engine to record an exit."""
OOM_GRACE = 1.0
"""Seconds more it waits for an out-of-memory event handled after a SIGKILLed kernel's exit."""


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
        with docker_errors("the sandbox container did not start"):
            await asyncio.to_thread(self.container.start)
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
        except ENGINE_ERRORS as exc:
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

    def end(self, wait: float = RECORD_WAIT) -> KernelEnd:
        """Why the kernel ended: OUT_OF_MEMORY when the container's memory limit killed it.

        The kernel is seen dead before the engine has recorded why (see ``_async_is_alive``):
        until it has, this waits (at most ``wait`` s), and for a SIGKILLed kernel
        :data:`OOM_GRACE` s more, as the engine may handle the out-of-memory event after the
        exit. A kernel still running, or never started, is answered at once.
        """
        state = self.state()
        if not self._ended():
            return KernelEnd.OUT_OF_MEMORY if state.get("OOMKilled") else KernelEnd.RUNNING
        deadline = time.monotonic() + wait
        while _running(state) and not self._gone and time.monotonic() < deadline:
            time.sleep(0.05)
            state = self.state()
        if not _running(state) and state.get("ExitCode") == SIGKILLED:
            grace = min(deadline, time.monotonic() + OOM_GRACE)
            while not state.get("OOMKilled") and not self._gone and time.monotonic() < grace:
                time.sleep(0.05)
                state = self.state()
        return KernelEnd.OUT_OF_MEMORY if state.get("OOMKilled") else KernelEnd.EXITED

    def state(self) -> dict[str, Any]:
        """The container's state (Status, ExitCode, OOMKilled...), last known if it is gone."""
        try:
            self.container.reload()
        except NotFound:
            self._gone = True
        except ENGINE_ERRORS:
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
        with suppress(*ENGINE_ERRORS):
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
