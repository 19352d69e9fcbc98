"""A zygote: a process that has imported the kernel stack once and forks each kernel from it.

Run as a script (``python zygote.py PARENT_PID``) by :class:`grader.sandbox.forked.Zygote`,
with the environment every kernel starts from; it talks to its parent over the socket on fd 0.
Starting ipykernel costs ~0.3 s of CPU in imports alone (IPython, zmq, tornado, jupyter_client),
paid by every submission; a forked child has them already, copy-on-write. Each kernel is
still a fresh process that no other submission has touched: the zygote never runs student
code, and nothing of the numerical stack (numpy's thread pools) is imported before the fork.

Request (one JSON line): the options of ``launch.py`` then ``--`` and the kernel's command;
reply: one JSON line ``{"pid": N}`` (or ``{"error": ...}``) with a pidfd of the child passed
along (SCM_RIGHTS), so the parent can watch and signal exactly that process.

A child, before any kernel code runs: dies with the zygote (``PR_SET_PDEATHSIG``), enters
its limits exactly as ``launch.py`` does for an ``exec``'d kernel (its own session, folder,
silenced output, rlimits), takes the kernel's environment, then runs ipykernel in-process.
The zygote dies with its parent the same way, so no kernel outlives the grader that owns it.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import sys

import launch  # beside this script, standard library only

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NAME = 15
WARM = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.comm",
    "ipykernel.debugger",
    "IPython.core.debugger",
    "IPython.core.completerlib",
    "IPython.core.oinspect",
    "IPython.extensions.storemagic",
    "tornado.platform.asyncio",
    "tornado.queues",
    "sqlite3",
)
"""What a kernel imports before it runs any cell (none starts a thread), imported once here."""


def _prctl(option: int, value: int | bytes) -> None:
    ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _die_with(parent: int) -> None:
    """SIGKILL when ``parent`` goes (checked after asking: it may already be gone)."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _kernel(request: list[str], zygote: int) -> None:
    """In the forked child: become the submission's kernel; never returns."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the kernel's subprocesses reap their own
        _die_with(zygote)
        _prctl(PR_SET_DUMPABLE, 1)
        _prctl(PR_SET_NAME, b"ipykernel")  # its name in ps and /proc/PID/comm
        os.setsid()  # a session of its own, so its whole process group can be killed
        opts, command = launch.parse(request)
        env = launch.enter(opts)
        os.closerange(3, 1 << 16)
        os.environ.clear()
        os.environ.update(env)
        sys.modules.pop("launch", None)
        del sys.path[0]  # this script's folder; IPython puts the kernel's own back
        sys.argv = ["ipykernel_launcher", *command[command.index("-f") :]]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
    except BaseException:  # nothing to report to: output is silenced
        pass
    finally:
        os._exit(0)


def _reap(*_signal: object) -> None:
    """Wait for every ended kernel now, so none lingers as a zombie until the next request (or,
    when the zygote ends, under whoever adopts it)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _spawn(request: list[str], conn: socket.socket) -> None:
    pid = os.fork()
    if pid == 0:
        conn.close()
        _kernel(request, os.getppid())
    pidfd = os.pidfd_open(pid)
    try:
        socket.send_fds(conn, [json.dumps({"pid": pid}).encode() + b"\n"], [pidfd])
    finally:
        os.close(pidfd)


def serve(conn: socket.socket) -> None:
    reader = conn.makefile("rb")
    for line in reader:
        _reap()
        try:
            request = json.loads(line)
            if not isinstance(request, list) or not all(isinstance(a, str) for a in request):
                raise ValueError("a request is a list of strings")
            launch.parse(request)
        except (ValueError, SystemExit) as exc:
            conn.sendall(json.dumps({"error": str(exc)}).encode() + b"\n")
            continue
        _spawn(request, conn)


def main(argv: list[str]) -> None:
    _die_with(int(argv[0]))
    _prctl(PR_SET_DUMPABLE, 0)  # kernels of the same user cannot open our socket in /proc
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, _reap)
    for name in WARM:
        __import__(name)
    conn = socket.socket(fileno=0)
    conn.sendall(b'{"ready": true}\n')
    serve(conn)


if __name__ == "__main__":
    main(sys.argv[1:])
