"""Kernels forked from a zygote: each a fresh process with its own limits, and none outlives
the process that owns the sandbox (the zygote dies with its owner, each kernel with the zygote).
The limits, environment and clean-up every local kernel gets are checked for forked kernels too,
in test_local.py."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import cast

import nbformat
import pytest

from grader.core.spec import Resources
from grader.pipeline.bridge import Bridge
from grader.pipeline.execute import run_notebook
from grader.sandbox.base import KernelRequest
from grader.sandbox.choose import NO_ZYGOTE, Backend, make_sandbox
from grader.sandbox.forked import ZygoteKernelManager
from grader.sandbox.local import LocalSandbox
from grader.sandbox.processes import children

LIMITS = Resources(memory_mb=1024, disk_mb=16, total_timeout=60, cpus=1)
CELL = "import os, random\npid, ppid, draw = os.getpid(), os.getppid(), random.random()\nmark = 1"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def _wait_gone(pids: list[int], seconds: float = 10) -> list[int]:
    deadline = time.monotonic() + seconds
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


def _grade(sandbox: LocalSandbox, workdir: Path, cell: str = CELL) -> dict[str, object]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    request = KernelRequest(workdir=workdir, limits=LIMITS)
    with run_notebook(nb, sandbox=sandbox, request=request, setup_code="") as ex:
        assert ex.outcome.completed, ex.outcome
        assert isinstance(ex.kernel.manager, ZygoteKernelManager)
        with Bridge(ex.kernel.manager, timeout=30) as bridge:
            return {name: bridge.get(name) for name in ("pid", "ppid", "draw")}


def test_each_kernel_is_a_fresh_process_of_one_zygote(tmp_path: Path) -> None:
    sandbox = LocalSandbox(zygote=True)
    try:
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        first, second = _grade(sandbox, tmp_path / "a"), _grade(sandbox, tmp_path / "b")
    finally:
        sandbox.close()
    assert first["pid"] != second["pid"]
    assert first["ppid"] == second["ppid"] != os.getpid()  # both forked by the zygote
    assert first["draw"] != second["draw"]  # random is reseeded in each child
    assert _wait_gone([int(str(first["pid"])), int(str(second["pid"]))]) == []


def test_an_ended_kernel_is_reaped_at_once(tmp_path: Path) -> None:
    """No zombie waits for the next request: the last kernel of a batch worker's zygote was
    inherited, unreaped, by the process that graded the batch."""
    sandbox = LocalSandbox(zygote=True)
    try:
        ran = _grade(sandbox, tmp_path)
        zygote = int(str(ran["ppid"]))
        deadline = time.monotonic() + 10
        while children(zygote) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert children(zygote) == []
        assert _alive(zygote)
    finally:
        sandbox.close()


def test_a_dead_zygote_is_started_again(tmp_path: Path) -> None:
    sandbox = LocalSandbox(zygote=True)
    try:
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        first = _grade(sandbox, tmp_path / "a")
        os.kill(int(str(first["ppid"])), 9)
        assert _wait_gone([int(str(first["ppid"]))]) == []
        second = _grade(sandbox, tmp_path / "b")
    finally:
        sandbox.close()
    assert second["ppid"] != first["ppid"]


OWNER = """
import os, sys, time
from pathlib import Path
import nbformat
from grader.core.spec import Resources
from grader.pipeline.execute import run_notebook
from grader.sandbox.base import KernelRequest
from grader.sandbox.local import LocalSandbox

nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
request = KernelRequest(workdir=Path(sys.argv[1]), limits=Resources(memory_mb=1024, cpus=1))
with run_notebook(nb, sandbox=LocalSandbox(zygote=True), request=request, setup_code="") as ex:
    km = ex.kernel.manager
    print(km.provisioner.pid, os.getpid(), flush=True)
    time.sleep(300)
"""


def test_kernels_die_with_the_owner_of_the_zygote(tmp_path: Path) -> None:
    """The owner is SIGKILLed (no clean-up runs): its zygote and the kernel go too."""
    owner = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(OWNER), str(tmp_path)], stdout=subprocess.PIPE
    )
    assert owner.stdout is not None
    kernel, _ = (int(x) for x in owner.stdout.readline().split())
    zygote = int(Path(f"/proc/{kernel}/stat").read_text().rsplit(")", 1)[1].split()[1])
    assert _alive(kernel) and _alive(zygote)
    owner.kill()
    owner.wait()
    assert _wait_gone([zygote, kernel]) == []


def test_batch_sandboxes_fork_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NO_ZYGOTE, raising=False)
    assert isinstance(sandbox := make_sandbox(Backend.LOCAL, many=True), LocalSandbox)
    assert sandbox.zygote
    assert not cast(LocalSandbox, make_sandbox(Backend.LOCAL)).zygote  # one kernel: no zygote
    monkeypatch.setenv(NO_ZYGOTE, "1")
    assert not cast(LocalSandbox, make_sandbox(Backend.LOCAL, many=True)).zygote
