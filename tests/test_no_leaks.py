"""Grading releases what it made: after the first submission, grading more in the same process
leaves no more threads, file descriptors, zmq contexts or zmq sockets behind (a batch worker
grades hundreds of submissions in one process)."""

from __future__ import annotations

import gc
import os
import threading
import warnings
from pathlib import Path

import pytest
import zmq
from jupyter_core.utils import ensure_event_loop

from grader.bridge import Bridge
from grader.grading import Options, grade_submission
from grader.results import Status
from grader.sandbox.base import CommandKernelManager, Sandbox, release
from grader.sandbox.fake import FakeSandbox
from grader.sandbox.local import LocalSandbox
from grader.spec import Assignment

SUBMISSIONS = {"graded/full_marks": Status.GRADED, "crashed/os_exit": Status.CRASHED}
"""A kernel the tests reach through the bridge, and one that dies before any test runs."""
ROUNDS = 2
"""Rounds graded after the first; a leak of one of anything per round exceeds every slack."""
SLACK = {"threads": 1, "fds": 1, "zmq contexts": 0, "zmq sockets": 0}
"""Constant noise allowed (a lazily started helper thread, a descriptor opened once)."""


def census() -> dict[str, int]:
    """What this process holds now, garbage collected first."""
    gc.collect()
    zmq_objects = [o for o in gc.get_objects() if isinstance(o, zmq.Context | zmq.Socket)]
    return {
        "threads": len(threading.enumerate()),
        "fds": len(os.listdir("/proc/self/fd")),
        "zmq contexts": sum(isinstance(o, zmq.Context) and not o.closed for o in zmq_objects),
        "zmq sockets": sum(isinstance(o, zmq.Socket) and not o.closed for o in zmq_objects),
    }


def grade_round(spec: Assignment, notebooks: Path, sandbox: Sandbox) -> None:
    for name, status in SUBMISSIONS.items():
        result = grade_submission(spec, notebooks / f"{name}.ipynb", options=Options(sandbox))
        assert result.status == status, result.message


@pytest.mark.slow
@pytest.mark.parametrize("backend", [FakeSandbox, LocalSandbox])
def test_grading_again_holds_nothing_more(
    backend: type[Sandbox], tiny: Assignment, notebooks: Path
) -> None:
    sandbox = backend()
    grade_round(spec=tiny, notebooks=notebooks, sandbox=sandbox)  # imports, event loop, caches
    baseline = census()
    grown: dict[str, int] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(ROUNDS):
            grade_round(spec=tiny, notebooks=notebooks, sandbox=sandbox)
            now = census()
            grown = {k: max(grown.get(k, 0), now[k] - baseline[k]) for k in baseline}
    leaked = {k: v for k, v in grown.items() if v > SLACK[k]}
    assert not leaked, f"grew over {ROUNDS} rounds: {leaked} (baseline {baseline})"
    # What only the garbage collector closed was left open too (zmq contexts, processes).
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not unclosed


def test_a_bridge_that_cannot_start_leaves_nothing_running() -> None:
    km = CommandKernelManager(["true"])
    km.write_connection_file()  # ports nobody listens on: the kernel never answers
    ensure_event_loop()  # made once per thread by jupyter_client's blocking calls
    before = census()
    try:
        with pytest.raises(RuntimeError, match="kernel_info"):
            Bridge(km, timeout=1).start()
        assert census() == before
    finally:
        release(km)
