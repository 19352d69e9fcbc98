"""Local kernels forked from a zygote (``zygote.py``) instead of started from nothing.

:class:`Zygote` is the host's handle on the zygote process: started on first use, a child of
this process that dies with it (and its kernels with it), restarted if it is gone.
:class:`ForkedProcess` stands where jupyter_client keeps a ``Popen``: the kernel is the
zygote's child, so it is watched and signalled through a pidfd, which names exactly that
process even after its pid is reused. :class:`ZygoteKernelManager` asks the zygote instead of
running the launch command; everything else (connection file, ports, signals to the kernel's
process group, kill) is jupyter_client's as for any local kernel.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

from grader.core.errors import SandboxError
from grader.sandbox.base import CommandKernelManager

READY_WAIT = 60.0
"""Seconds the zygote may take to import the kernel stack."""
STARTUP_VARS = ("PYTHON", "LANG", "LC_", "MALLOC_")
"""Environment read when an interpreter starts (hash seed, encodings, glibc's allocator): a
kernel forked from a zygote has the zygote's, so a request that differs in one gets a zygote
of its own."""
UNKNOWN_EXIT = -1
"""The exit status of a forked kernel as seen here: its parent, the zygote, reaps it."""


class ForkedProcess:
    """A kernel forked by the zygote, with the part of ``Popen`` jupyter_client uses."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, pidfd: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._pidfd: int | None = pidfd

    def poll(self) -> int | None:
        return self.wait(0) if self.returncode is None else self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit status once the kernel has ended; ``poll`` waits 0 s and returns None while
        it runs; other waits raise ``subprocess.TimeoutExpired``."""
        if self.returncode is not None or self._pidfd is None:
            return self.returncode
        ready, _, _ = select.select([self._pidfd], [], [], timeout)
        if not ready:
            if timeout == 0:
                return None
            raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
        self.returncode = UNKNOWN_EXIT
        os.close(self._pidfd)
        self._pidfd = None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None and self._pidfd is not None:
            signal.pidfd_send_signal(self._pidfd, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def __del__(self) -> None:
        if self._pidfd is not None:
            os.close(self._pidfd)


class Zygote:
    """The zygote process of this process, for kernels started with ``python`` and ``env``."""

    def __init__(self, python: str, env: dict[str, str]) -> None:
        self.python, self.env = python, env
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    def spawn(self, request: list[str]) -> ForkedProcess:
        """Fork a kernel for ``request`` (``launch.py``'s options, ``--``, the command)."""
        with self._lock:
            if not self.alive():
                self._start()
            try:
                return self._ask(request)
            except (OSError, ValueError) as exc:
                self.close()
                raise SandboxError(
                    f"the local sandbox's zygote failed: {exc}", hint="run `grade doctor`"
                ) from exc

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _start(self) -> None:
        self.close()
        ours, theirs = socket.socketpair()
        script = Path(__file__).with_name("zygote.py")
        try:
            self._proc = subprocess.Popen(
                [self.python, str(script), str(os.getpid())],
                stdin=theirs.fileno(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=self.env,
                cwd=script.parent,
                start_new_session=True,
            )
        finally:
            theirs.close()
        self._sock = ours
        ours.settimeout(READY_WAIT)
        try:
            ready = self._line()
        except OSError as exc:
            self.close()
            raise SandboxError(f"the local sandbox's zygote did not start: {exc}") from exc
        if ready.get("ready") is not True:
            self.close()
            raise SandboxError("the local sandbox's zygote did not start")

    def _ask(self, request: list[str]) -> ForkedProcess:
        assert self._sock is not None
        self._sock.sendall(json.dumps(request).encode() + b"\n")
        data, fds, _flags, _addr = socket.recv_fds(self._sock, 4096, 1)
        reply = self._line(data)
        if "error" in reply or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            raise ValueError(str(reply.get("error", "no pidfd in the reply")))
        return ForkedProcess(int(reply["pid"]), fds[0])

    def _line(self, data: bytes = b"") -> dict[str, Any]:
        """One JSON line from the zygote (``data``: what was already read of it)."""
        assert self._sock is not None
        while not data.endswith(b"\n"):
            more = self._sock.recv(4096)
            if not more:
                raise ValueError("the zygote closed its socket")
            data += more
        reply = json.loads(data)
        if not isinstance(reply, dict):
            raise ValueError("a reply is an object")
        return reply

    def close(self) -> None:
        """End the zygote (its kernels die with it: each has a parent-death signal)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            self._proc = None


def startup_key(env: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The part of a kernel's environment its interpreter reads when it starts."""
    return tuple(sorted((k, v) for k, v in env.items() if k.startswith(STARTUP_VARS)))


class ZygoteKernelManager(CommandKernelManager):
    """A local kernel manager whose kernel is forked by ``zygote`` from ``launch.py``'s argv
    (``python -I -S launch.py OPTIONS -- python -m ipykernel_launcher -f FILE``)."""

    def __init__(self, argv: list[str], zygote: Zygote, **kwargs: object) -> None:
        super().__init__(argv, **kwargs)
        self._zygote = zygote

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        assert self.provisioner is not None
        request = kernel_cmd[kernel_cmd.index("-S") + 2 :]
        process = await asyncio.to_thread(self._zygote.spawn, request)
        provisioner: Any = self.provisioner
        provisioner.process = process
        provisioner.pid = provisioner.pgid = process.pid  # the kernel leads its own session
        self._reconcile_connection_info(provisioner.connection_info)
