"""The owner's half of a sandbox's lifetime: a unix socket that lives exactly as long as the
grader process holding it.

The owner binds and listens on ``path`` and never accepts. The sandbox's tether
(:mod:`grader.sandbox.tether`, the first process of every sandbox) connects to it before
anything else runs and waits on that connection: the operating system ends it when the
listening socket is closed, which happens when the owner closes the lease or when its process
ends in any way (``kill -9``, the OOM killer, a crash). Nothing has to be renewed, no thread
runs, and a grader that is merely slow or stopped (a long C call, SIGSTOP, a suspended laptop)
keeps its sandboxes. A unix socket in a folder that is bind-mounted into the container needs no
network: it works with ``--network none``, like the kernel's own ipc sockets.

The socket is not inherited by programs the grader starts (Python makes it close-on-exec), so
only the grader process (or a fork of it that has not exec'd) holds a sandbox alive.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from contextlib import suppress
from pathlib import Path
from types import TracebackType

from grader.sandbox import tether

BACKLOG = 64
"""Connections the owner lets wait (never accepted): a tether's, one per (re)start."""


class Lease:
    """A listening unix socket at ``path``; ``user`` (uid, gid) may connect to it."""

    def __init__(self, path: Path, *, user: tuple[int, int] | None = None) -> None:
        self.path = path
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._socket.bind(str(path))
            self._socket.listen(BACKLOG)
            if user is not None and os.geteuid() == 0:
                os.chown(path, *user, follow_symlinks=False)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """End the lease: every sandbox tethered to it ends now. Idempotent."""
        self._socket.close()
        with suppress(OSError):
            os.unlink(self.path)

    def __enter__(self) -> Lease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def tethered(
    command: list[str],
    *,
    lease: Path,
    python: str = sys.executable,
    script: str | None = None,
    forward_signals: bool = False,
) -> list[str]:
    """``command`` run under a tether to the lease at ``lease``. ``python`` and ``script``
    (the tether's source) as the sandbox sees them (default: this interpreter, this package's
    file); ``forward_signals``: see :mod:`grader.sandbox.tether`."""
    options = ["--lease", str(lease), *(["--forward-signals"] if forward_signals else [])]
    return [python, "-I", "-S", script or tether.__file__, *options, "--", *command]


def copy_tether(path: Path) -> None:
    """Put the tether's source at ``path``, read-only: a sandbox whose Python is not this one
    (a container's) runs that copy."""
    shutil.copyfile(tether.__file__, path)
    os.chmod(path, 0o444)
