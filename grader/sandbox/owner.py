"""Who owns a sandbox: the grader process that started it, as this host can tell it apart.

A pid alone is no identity: once its process has ended, the kernel hands the number to the
next one. An :class:`Owner` adds the process's start time (and the host, its boot and its pid
namespace), so "the owner is gone" can be proved, never guessed: that is the only case in
which housekeeping removes a sandbox (``grader.sandbox.reclaim``). Containers carry an owner
in their labels, host folders in their names (``grader.sandbox.scratch``).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from grader.sandbox.processes import started

LABEL_HOST = "dl-grader.host"
LABEL_PID = "dl-grader.pid"
LABEL_STARTED = "dl-grader.started"
LABEL_BOOT = "dl-grader.boot"
LABEL_PIDNS = "dl-grader.pidns"


@dataclass(frozen=True)
class Owner:
    """A process of some host; empty fields are unknown (labels of an older grader)."""

    pid: int
    started: int = 0
    """Clock ticks after boot at which it started (``/proc/<pid>/stat``); 0 = unknown."""
    host: str = ""
    boot: str = ""
    """The host's boot id: pids and start times mean nothing across a reboot."""
    pidns: str = ""
    """The pid namespace its pid is counted in (a grader inside a container has its own)."""

    @classmethod
    def me(cls) -> Owner:
        """This process."""
        pid = os.getpid()
        return cls(pid, started(pid) or 0, *_host())

    def labels(self) -> dict[str, str]:
        return {
            LABEL_HOST: self.host,
            LABEL_PID: str(self.pid),
            LABEL_STARTED: str(self.started),
            LABEL_BOOT: self.boot,
            LABEL_PIDNS: self.pidns,
        }

    @classmethod
    def from_labels(cls, labels: dict[str, str]) -> Owner | None:
        """The owner recorded in a container's labels; None when they name no pid."""
        pid, ticks = labels.get(LABEL_PID, ""), labels.get(LABEL_STARTED, "")
        if not pid.isdigit() or int(pid) <= 0:
            return None
        return cls(
            int(pid),
            int(ticks) if ticks.isdigit() else 0,
            labels.get(LABEL_HOST, ""),
            labels.get(LABEL_BOOT, ""),
            labels.get(LABEL_PIDNS, ""),
        )

    def gone(self) -> bool:
        """True only when provably no longer running: a process of this host (its boot, its
        pid namespace) that has exited, or whose pid now belongs to a later process. Anything
        this host cannot see (another host, another pid namespace) counts as running."""
        host, boot, pidns = _host()
        if self.host and self.host != host:
            return False
        if self.boot and boot and self.boot != boot:
            return True  # a process of an earlier boot of this host
        if self.pidns and pidns and self.pidns != pidns:
            return False
        now = started(self.pid)
        return now is None or bool(self.started and now and now != self.started)


@cache
def _host() -> tuple[str, str, str]:
    """(host name, boot id, pid namespace) of this process; '' where unknown."""
    return socket.gethostname(), _read("/proc/sys/kernel/random/boot_id"), _pidns()


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="ascii").strip()
    except OSError:
        return ""


def _pidns() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""
