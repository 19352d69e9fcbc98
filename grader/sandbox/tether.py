"""The sandbox's half of its lifetime: ``python -I -S tether.py --lease PATH [--forward-signals]
-- COMMAND...``, the first process of every sandbox (a local kernel's, a container's).

It connects to its owner's lease (:class:`grader.sandbox.lease.Lease`) before anything else
runs, then runs ``COMMAND`` as its child and waits for one of two things:

* the child ends: the tether ends the same way (its exit code, or the same signal), so whoever
  watches the tether sees the kernel's end;
* the lease ends (its owner closed it, or the owner's process died in any way): the tether
  SIGKILLs its whole process group, itself included, at once. In a container the tether is
  the init's only child, so the container stops with it.

If the owner is already gone when it starts, it runs nothing. The child gets
``PR_SET_PDEATHSIG`` (SIGKILL) with the tether as its parent (the tether is single-threaded,
so "the thread that forked it" lives as long as the tether): code in the sandbox that kills the
tether kills its kernel too. ``--forward-signals`` passes SIGINT, SIGTERM, SIGHUP, SIGQUIT,
SIGUSR1 and SIGUSR2 on to the child: for a container, whose init signals only the tether;
locally, signals go to the whole process group already.

A script of the standard library only, run with ``-I -S``: it imports nothing of the grader
and runs under the runtime image's Python as well as the grader's.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import sys

OWNER_GONE = 75
"""Exit status when the lease could not be reached at the start (EX_TEMPFAIL)."""
FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")
PR_SET_PDEATHSIG = 1


def _parse(argv: list[str]) -> tuple[str, bool, list[str]]:
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        raise SystemExit("usage: tether.py --lease PATH [--forward-signals] -- COMMAND ...")
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    if len(options) < 2 or options[0] != "--lease" or set(options[2:]) - {"--forward-signals"}:
        raise SystemExit("usage: tether.py --lease PATH [--forward-signals] -- COMMAND ...")
    return options[1], "--forward-signals" in options, command


def _connect(path: str) -> socket.socket:
    lease = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        lease.connect(path)
    except OSError as exc:
        sys.stderr.write(f"tether: the grader that owns this sandbox is gone ({exc})\n")
        raise SystemExit(OWNER_GONE) from None
    return lease


def _lead_group() -> None:
    """Make the process group ours alone, so killing it never reaches whoever started us."""
    if os.getpgrp() != os.getpid():
        with contextlib.suppress(OSError):  # a session leader already leads its group
            os.setpgid(0, 0)


def _die_with(parent: int) -> None:
    """In the child: SIGKILL when the tether (its parent) dies; Linux only."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError, ImportError):
        return
    if os.getppid() != parent:  # the tether died before prctl took effect
        os._exit(OWNER_GONE)


def _spawn(command: list[str]) -> int:
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            for name in ("SIGPIPE", "SIGXFSZ"):  # ignored by Python, not by what it starts
                signal.signal(getattr(signal, name), signal.SIG_DFL)
            _die_with(parent)
            os.execvp(command[0], command)
        except BaseException as exc:
            sys.stderr.write(f"tether: cannot run {command[0]}: {exc}\n")
        finally:
            os._exit(127)
    return pid


def _exit_like(status: int) -> None:
    """End as the child ended: its exit code, or killed by the same signal."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        with contextlib.suppress(OSError, ValueError):  # SIGKILL cannot be handled anyway
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.waitstatus_to_exitcode(status))


def _ended(lease: socket.socket) -> bool:
    """The owner never sends; readable means the connection is over."""
    try:
        return lease.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _watch(lease: socket.socket, child: int, wake: int) -> None:
    while True:
        readable, _, _ = select.select([lease.fileno(), wake], [], [])
        if lease.fileno() in readable and _ended(lease):
            os.killpg(0, signal.SIGKILL)
        if wake in readable:
            while True:
                try:
                    if not os.read(wake, 512):
                        break
                except BlockingIOError:
                    break
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid == child:
            _exit_like(status)


def main(argv: list[str]) -> None:
    path, forward, command = _parse(argv)
    _lead_group()
    lease = _connect(path)
    lease.setblocking(False)
    wake, woken = os.pipe()
    os.set_blocking(wake, False)
    os.set_blocking(woken, False)
    signal.set_wakeup_fd(woken)
    child = 0

    def on_signal(signum: int, frame: object) -> None:
        if forward and child and signum != signal.SIGCHLD:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    signal.signal(signal.SIGCHLD, on_signal)
    for name in FORWARDED:
        signal.signal(getattr(signal, name), on_signal)
    child = _spawn(command)
    _watch(lease, child, wake)


if __name__ == "__main__":
    main(sys.argv[1:])
