"""Grading releases what it made: after the first submission, grading more in the same process
leaves no more threads, file descriptors, zmq contexts or zmq sockets behind (a batch worker
grades hundreds of submissions in one process)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest
import zmq
from jupyter_core.utils import ensure_event_loop

from grader.core.results import Status
from grader.core.spec import Assignment, load_assignment
from grader.pipeline.bridge import Bridge
from grader.pipeline.grading import Options, grade_submission
from grader.sandbox.base import CommandKernelManager, Sandbox, release
from grader.sandbox.fake import FakeSandbox
from grader.sandbox.local import LocalSandbox

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


def measure(backend: type[Sandbox], spec: Assignment, notebooks: Path) -> dict[str, object]:
    """Grow of each count over ROUNDS rounds after a first one, and ResourceWarnings seen."""
    sandbox = backend()
    grade_round(spec=spec, notebooks=notebooks, sandbox=sandbox)  # imports, event loop, caches
    baseline = census()
    grown: dict[str, int] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(ROUNDS):
            grade_round(spec=spec, notebooks=notebooks, sandbox=sandbox)
            now = census()
            grown = {k: max(grown.get(k, 0), now[k] - baseline[k]) for k in baseline}
    # What only the garbage collector closed was left open too (zmq contexts, processes).
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    return {"grown": grown, "baseline": baseline, "unclosed": unclosed}


@pytest.mark.slow
@pytest.mark.parametrize("backend", [FakeSandbox, LocalSandbox])
def test_grading_again_holds_nothing_more(
    backend: type[Sandbox], tiny: Assignment, notebooks: Path
) -> None:
    seen = in_own_process(backend.__name__, str(tiny.root), str(notebooks))
    leaked = {k: v for k, v in seen["grown"].items() if v > SLACK[k]}
    assert not leaked, f"grew over {ROUNDS} rounds: {leaked} (baseline {seen['baseline']})"
    assert not seen["unclosed"]


def failed_bridge() -> dict[str, object]:
    """Counts before and after a bridge fails to start (its kernel never answers)."""
    km = CommandKernelManager(["true"])
    km.write_connection_file()  # ports nobody listens on: the kernel never answers
    ensure_event_loop()  # made once per thread by jupyter_client's blocking calls
    before = census()
    try:
        Bridge(km, timeout=1).start()
    except RuntimeError as exc:
        error = str(exc)
    else:
        error = ""
    finally:
        release(km)
    return {"before": before, "after": census(), "error": error}


def in_own_process(*args: str) -> dict[str, Any]:
    """Run this file's main in a fresh interpreter: what earlier tests left for the garbage
    collector (their kernels' sockets, event loops) would otherwise move the counts."""
    proc = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_a_bridge_that_cannot_start_leaves_nothing_running() -> None:
    seen = in_own_process("bridge")
    assert "kernel_info" in seen["error"]
    assert seen["after"] == seen["before"]


if __name__ == "__main__":  # python tests/test_no_leaks.py bridge | BACKEND ASSIGNMENT NOTEBOOKS
    if sys.argv[1] == "bridge":
        print(json.dumps(failed_bridge()))
    else:
        chosen = {"FakeSandbox": FakeSandbox, "LocalSandbox": LocalSandbox}[sys.argv[1]]
        spec = load_assignment(Path(sys.argv[2]))
        print(json.dumps(measure(chosen, spec, Path(sys.argv[3]))))
