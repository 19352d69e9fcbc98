"""Start a kernel under resource limits: ``python -I -S launch.py LIMITS -- CMD...``.

Run as a script (standard library only), so starting it imports nothing of the grader.

Used by :class:`grader.sandbox.local.LocalSandbox`, under the kernel's tether
(:mod:`grader.sandbox.tether`). Runs in the child process only: sets rlimits, a scrubbed
environment read from ``--env KEY=VALUE`` options, then ``exec``s the kernel command. It stays
in the tether's process group (jupyter_client started the tether in a new session), so a
signal to that group reaches the kernel and whatever it started.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys

MIB = 1024 * 1024


def _parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    if "--" not in argv:
        raise SystemExit("usage: python -m grader.sandbox.launch [options] -- command ...")
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="grader.sandbox.launch")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--cpu-seconds", type=int, required=True)
    parser.add_argument("--pids", type=int, required=True)
    parser.add_argument("--file-mb", type=int, required=True)
    parser.add_argument("--cwd", required=True)
    parser.add_argument("--env", action="append", default=[])
    return parser.parse_args(argv[:split]), argv[split + 1 :]


def _limit(which: int, value: int) -> None:
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def apply_limits(opts: argparse.Namespace) -> None:
    _limit(resource.RLIMIT_AS, opts.memory_mb * MIB)
    _limit(resource.RLIMIT_CPU, opts.cpu_seconds)
    _limit(resource.RLIMIT_FSIZE, opts.file_mb * MIB)
    _limit(resource.RLIMIT_CORE, 0)
    # Counted per user and not enforced for root: a guard for students, not a wall.
    _limit(resource.RLIMIT_NPROC, opts.pids)


def _silence() -> None:
    """The kernel talks over its channels; its own stdout/stderr would only clutter ours."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)


def main(argv: list[str]) -> None:
    opts, command = _parse(argv)
    os.chdir(opts.cwd)
    env = dict(item.split("=", 1) for item in opts.env)
    _silence()
    apply_limits(opts)
    os.execve(command[0], command, env)


if __name__ == "__main__":
    main(sys.argv[1:])
