"""One batch per output folder: ``OUT/.grade-batch.lock``, an flock held for the batch's life.

The kernel drops the lock when the process dies, however it dies, so a killed batch never
leaves a stale lock behind; the file's text (pid, host, start time) only explains who holds it.
"""

from __future__ import annotations

import fcntl
import os
import socket
from datetime import datetime
from pathlib import Path
from types import TracebackType

from grader.core.errors import GraderError

LOCK_FILE = ".grade-batch.lock"


class BatchLocked(GraderError):
    """Another batch is writing into the same output folder."""

    def __init__(self, out: Path, holder: str) -> None:
        super().__init__(
            f"another `grade batch` is running on {out} ({holder or 'holder unknown'})",
            hint="wait for it to finish, or stop it (Ctrl-C) and run again; "
            "finished results are kept",
        )
        self.out = out
        self.holder = holder


class BatchLock:
    """``with BatchLock(out):`` — raises :class:`BatchLocked` at once if it is taken."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.path = out / LOCK_FILE
        self._fd: int | None = None

    def __enter__(self) -> BatchLock:
        self.out.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
            os.close(fd)
            raise BatchLocked(self.out, holder) from None
        stamp = datetime.now().astimezone().isoformat(timespec="seconds")
        text = f"pid {os.getpid()} on {socket.gethostname()}, started {stamp}\n".encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, text, 0)
        self._fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
