"""Apps as plain processes on this machine: for students' `grade check`, not for a class.

Like the local kernel sandbox it limits nothing that matters for hostile code and isolates
nothing (the app has the student's own network and files): it runs one's own app. The app
gets a free port in ``PORT`` (so parallel checks do not collide) and the same forwarder and
audit hook as in Docker, so readiness, verdicts and tests are identical. Like a local kernel, it
runs under a tether to a lease this process holds (:mod:`grader.sandbox.lease`): if the grader
dies without cleaning up (``kill -9``), the app's process group dies with it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import IO

from grader.pipeline.services.base import INSIDE, ServiceExit, ServiceRequest, service_env
from grader.sandbox import scratch
from grader.sandbox.lease import Lease, tethered


class LocalService:
    def __init__(self, process: subprocess.Popen[bytes], socket_path: Path, log: Path) -> None:
        self.process = process
        self._socket = socket_path
        self._log = log

    @property
    def socket(self) -> Path:
        return self._socket

    def exited(self) -> ServiceExit | None:
        code = self.process.poll()
        return None if code is None else ServiceExit(code)

    def logs(self, max_bytes: int = 64 * 1024) -> str:
        with suppress(OSError), self._log.open("rb") as file:
            file.seek(max(0, self._log.stat().st_size - max_bytes))
            return file.read().decode("utf-8", errors="replace")
        return ""


class LocalServices:
    name = "local"

    @contextmanager
    def service(self, request: ServiceRequest) -> Iterator[LocalService]:
        run_dir = Path(tempfile.mkdtemp(prefix=scratch.prefix("svc")))
        request = replace(request, port=_free_port())
        try:
            app_dir = run_dir / "app"
            shutil.copytree(request.workdir, app_dir, symlinks=True)
            log = run_dir / "app.log"
            with Lease(run_dir / "lease") as lease:
                with log.open("wb") as out:
                    process = _spawn(request, app_dir, run_dir / "app.sock", out, lease)
                try:
                    yield LocalService(process, run_dir / "app.sock", log)
                finally:
                    _stop(process)
        finally:
            scratch.remove(run_dir)


def _spawn(
    request: ServiceRequest, app_dir: Path, socket_path: Path, out: IO[bytes], lease: Lease
) -> subprocess.Popen[bytes]:
    env = service_env(request, home=os.environ.get("HOME", str(app_dir)))
    env["PATH"] = f"{Path(sys.executable).parent}:{os.environ.get('PATH', env['PATH'])}"
    env["PYTHONPATH"] = str(INSIDE)
    command = [sys.executable if c == "python" else c for c in request.command]
    forward = [sys.executable, str(INSIDE / "forward.py"), str(socket_path), str(request.port)]
    return subprocess.Popen(
        tethered([*forward, "--", *command], lease=lease.path),
        cwd=app_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """The tether, the forwarder, the app and whatever the app started (one process group)."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
