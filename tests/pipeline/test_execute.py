"""Running a notebook: errors do not stop the run, seeds, the runtime import blocker, the
output cap, cleanup. Time limits and crashes are graded outcomes: see test_grading.py."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pytest
from jupyter_core.utils import run_sync
from nbformat import NotebookNode

from grader.core.errors import SandboxError
from grader.core.outcomes import Stop
from grader.core.spec import Resources
from grader.pipeline.bridge import Bridge
from grader.pipeline.execute import Execution, preamble, run_notebook, skip_installs
from grader.sandbox.base import CommandKernelManager, Kernel, KernelRequest
from grader.sandbox.fake import FakeSandbox
from grader.sandbox.local import LocalSandbox

SEED = 7
CELLS = [
    "raise KeyError('first')\nnever = 1",
    "import random\nimport numpy as np\nr = random.random()\na = np.random.rand(3)",
    "md:## text between",
    "try:\n    exec('import torch')\nexcept ModuleNotFoundError as exc:\n"
    "    blocked = type(exc).__name__\n    blocked_message = str(exc)",
    "",
    "!pip install definitely-not-a-real-package-xyz\ninstalled = 'skipped'",
    "exec('import torch.nn')",
    "import json\nlast = json.dumps([1])",
]


def notebook(cells: list[str]) -> NotebookNode:
    made: NotebookNode = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(c[3:])
            if c.startswith("md:")
            else nbformat.v4.new_code_cell(c)
            for c in cells
        ]
    )
    return made


@dataclass
class Ran:
    ex: Execution
    nb: NotebookNode
    bridge: Bridge
    hooked: list[tuple[int, int]]


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ran]:
    nb = notebook(CELLS)
    hooked: list[tuple[int, int]] = []
    request = KernelRequest(workdir=tmp_path_factory.mktemp("execute"), limits=Resources())
    with (
        run_notebook(
            nb,
            sandbox=LocalSandbox(),
            request=request,
            setup_code=preamble(SEED, {"numpy"}, ["torch"]),
            on_cell=lambda i, n: hooked.append((i, n)),
        ) as ex,
        Bridge(ex.kernel.manager, timeout=30) as bridge,
    ):
        yield Ran(ex, nb, bridge, hooked)


def test_a_cell_that_raises_does_not_stop_the_run(ran: Ran) -> None:
    assert ran.bridge.get("last") == "[1]"  # the last cell ran
    assert not ran.bridge.has("never")  # the rest of the failing cell did not


def test_cell_errors_are_recorded(ran: Ran) -> None:
    errors = [(e.index, e.ename, e.source_head.splitlines()[0]) for e in ran.ex.cell_errors]
    assert errors == [
        (0, "KeyError", "raise KeyError('first')"),
        (6, "ForbiddenImportError", "exec('import torch.nn')"),
    ]
    assert "first" in ran.ex.cell_errors[0].evalue


def test_runtime_import_blocker(ran: Ran) -> None:
    assert ran.ex.outcome.blocked_import is not None
    assert ran.ex.usable  # the tests still run
    assert ran.bridge.get("blocked") == "ForbiddenImportError"
    assert "torch" in ran.bridge.get("blocked_message")


def test_seeds(ran: Ran) -> None:
    """The same values in every run: exactly what the seed gives."""
    assert ran.bridge.get("r") == random.Random(SEED).random()
    assert np.array_equal(ran.bridge.get("a"), np.random.RandomState(SEED).rand(3))


def test_on_cell_hook_sees_each_code_cell(ran: Ran) -> None:
    code = [i for i, c in enumerate(CELLS) if c.strip() and not c.startswith("md:")]
    assert ran.hooked == [(i, len(CELLS)) for i in code]


def test_setup_code_does_not_replace_any_cell(ran: Ran) -> None:
    assert len(ran.nb.cells) == len(CELLS)
    assert [c.source for c in ran.nb.cells][-1] == CELLS[-1]


def test_installs_are_skipped(ran: Ran) -> None:
    assert ran.bridge.get("installed") == "skipped"
    assert skip_installs("  !pip install x\n%pip install -q y\nx = 1") == (
        "  pass  # grader: install skipped\npass  # grader: install skipped\nx = 1"
    )


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise LookupError(key)


def _reset_peak_rss() -> bool:
    """Reset VmHWM (the peak resident size) so a later reading measures only what follows."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def test_output_flood_is_capped(tmp_path: Path) -> None:
    flood_mib = 50
    cells = [
        f"import sys\nfor _ in range({flood_mib}):\n    sys.stdout.write('x' * (1 << 20))",
        "print('after')",
        "raise ValueError('after the flood')",
        "done = True",
    ]
    nb = notebook(cells)
    limits = Resources(max_output_kb=64)
    request = KernelRequest(workdir=tmp_path, limits=limits)
    measured = _reset_peak_rss()
    before = _status_kib("VmRSS")
    with (
        run_notebook(nb, sandbox=LocalSandbox(), request=request, setup_code="") as ex,
        Bridge(ex.kernel.manager, timeout=30) as bridge,
    ):
        assert bridge.get("done") is True
    peak_mib = (_status_kib("VmHWM") - before) / 1024
    assert ex.outcome.completed
    kept = sum(len(json.dumps(c)) for c in nb.cells)
    assert kept < limits.max_output_kb * 1024 + 4096
    assert [(e.index, e.ename) for e in ex.cell_errors] == [(2, "ValueError")]
    if measured:  # jupyter_client holds ~3 copies of one big message while decoding it
        assert peak_mib < 6 * flood_mib


def test_sandbox_is_closed_after_a_timeout(tmp_path: Path) -> None:
    fake = FakeSandbox()
    request = KernelRequest(workdir=tmp_path, limits=Resources(cell_timeout=1))
    with run_notebook(
        notebook(["x = 1", "while True:\n    pass", "y = 2"]),
        sandbox=fake,
        request=request,
        setup_code="",
    ) as ex:
        assert ex.outcome.stop is Stop.CELL_TIME_LIMIT and not ex.usable
        assert (ex.outcome.cell, ex.outcome.cell_head) == (1, "while True:\n    pass")
        assert fake.closed == 0
    assert fake.closed == 1 and len(fake.requests) == 1


def test_a_timeout_leaves_no_task_behind(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """nbclient does not cancel a cell's output-polling task when the cell times out. Left
    pending, it could resume after the channels were stopped and fail; the garbage collector
    then logged "Task exception was never retrieved" at whatever moment it ran, with a
    traceback, whose caret lines CPython 3.11 computes with ``ast.parse``, inside whatever parse
    it interrupted (an "AST constructor recursion depth mismatch" in pytest)."""
    request = KernelRequest(workdir=tmp_path, limits=Resources(cell_timeout=1))
    cells = ["while True:\n    print('x' * 1000)"]  # output still flowing at the time-out
    with run_notebook(
        notebook(cells), sandbox=LocalSandbox(), request=request, setup_code=""
    ) as ex:
        assert ex.outcome.stop is Stop.CELL_TIME_LIMIT
    assert not _pending_tasks()  # looked up without running the loop, which would run them
    run_sync(asyncio.sleep)(0.2)  # the loop runs again, as it does for the next submission
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        gc.collect()
    assert not [r.getMessage() for r in caplog.records if r.name == "asyncio"]


def _pending_tasks() -> list[asyncio.Task[object]]:
    """Pending tasks of loops that are not running: left behind. A loop running in another thread
    (jupyter_client's heartbeat channel of a client still open elsewhere) serves its own tasks."""
    return [
        t
        for t in gc.get_objects()
        if isinstance(t, asyncio.Task) and not t.done() and not t.get_loop().is_running()
    ]


class Unstartable:
    """A backend whose kernel command does not exist."""

    name = "unstartable"

    def __init__(self) -> None:
        self.closed = 0

    @contextmanager
    def kernel(self, request: KernelRequest) -> Iterator[Kernel]:
        try:
            yield Kernel(CommandKernelManager(["/nonexistent/python", "-f", "{connection_file}"]))
        finally:
            self.closed += 1


def test_a_kernel_that_cannot_start_is_a_sandbox_error(tmp_path: Path) -> None:
    broken = Unstartable()
    request = KernelRequest(workdir=tmp_path, limits=Resources())
    with (
        pytest.raises(SandboxError) as info,
        run_notebook(notebook(["x = 1"]), sandbox=broken, request=request, setup_code=""),
    ):
        pass
    assert "unstartable" in info.value.message and info.value.hint
    assert broken.closed == 1
