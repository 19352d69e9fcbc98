"""Processes of this host, as ``/proc`` sees them (Linux): children, sessions, orphaned kernels,
start times (what tells a process from a later one that reuses its pid).

Kernels run in their own sessions, so killing the process that started one does not kill it:
a grading parent makes itself a child subreaper, and kernels orphaned by a dead worker become
its children, which :func:`reap_orphans` kills.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from contextlib import suppress
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper(on: bool = True) -> bool:
    """Orphaned descendants (kernels of a dead worker) become our children (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, session id) of ``pid``."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[3])


def started(pid: int) -> int | None:
    """When ``pid`` started (clock ticks after boot), or None when no such process runs (none
    has that pid, or it has exited and is a zombie). 0 where ``/proc`` cannot tell (another
    user's process under ``hidepid``, a system without ``/proc``) but the pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # it exists: another user's
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
        fields = text[text.rindex(")") + 2 :].split()
        state, ticks = fields[0], int(fields[19])
    except (OSError, ValueError, IndexError):
        return 0
    return None if state in ("Z", "X", "x") else ticks


def children(pid: int) -> list[int]:
    """Direct children of ``pid``."""
    out = []
    with suppress(OSError):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                st = _stat(int(entry.name))
                if st is not None and st[0] == pid:
                    out.append(int(entry.name))
    return out


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        out += kids
        todo += kids
    return out


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by ``pid`` (a kernel's session) and ``pid`` itself."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def reap_orphans(exclude: set[int] | frozenset[int] = frozenset(), passes: int = 3) -> list[int]:
    """Kill and reap our children that lead their own session: orphaned kernels. Killing one
    (a zygote) orphans its own children to us in turn, so this repeats while it finds some."""
    killed: list[int] = []
    for _ in range(passes):
        found = _reap_once(exclude)
        if not found:
            break
        killed += found
    return killed


def _reap_once(exclude: set[int] | frozenset[int]) -> list[int]:
    killed = []
    for pid in children(os.getpid()):
        st = _stat(pid) if pid not in exclude else None
        if st is not None and st[1] == pid:
            kill_group(pid)
            killed.append(pid)
    for pid in killed:
        with suppress(ChildProcessError, OSError):
            os.waitpid(pid, 0)
    return killed
