"""Run a notebook in a sandboxed kernel with nbclient, and keep the kernel for the tests.

The executor owns the bookkeeping (time limits, output cap, cell errors); the sandbox only
decides where the kernel runs and says why it ended. A cell that raises does not stop the run;
a time limit or a dead kernel does. The stage reports a typed :class:`RunOutcome`; the verdict
(``grader.core.verdict``) decides what it means.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import nbformat
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from grader.core.errors import SandboxError
from grader.core.lang import Language, Phrase
from grader.core.outcomes import RunOutcome, Stop
from grader.core.results import CellError
from grader.sandbox.base import Kernel, KernelEnd, KernelRequest, Sandbox

CellHook = Callable[[int, int], None]
"""Called with (cell index, number of cells) before each code cell runs."""

_PREAMBLE = """\
def _grader_setup(seed, seeded, forbidden, refusal):
    import os, random, sys
    random.seed(seed)
    if "numpy" in seeded:
        import numpy
        numpy.random.seed(seed)
    if "torch" in seeded:
        import torch
        torch.manual_seed(seed)
    if forbidden:
        _grader_forbid(frozenset(forbidden), refusal, os, sys)


def _grader_forbid(banned, refusal, os, sys):
    # Forbidden modules are refused to everyone in this kernel from now on, whoever imports
    # them: a cell, code exec'd under any file name, a file the notebook wrote, a thread, a
    # library. An audit hook cannot be removed, and sees both the import of a forbidden name
    # and any file opened inside a forbidden package (importlib, runpy, a copy or a link).
    import importlib.machinery, importlib.util

    class ForbiddenImportError(ModuleNotFoundError):  # its name is FORBIDDEN_IMPORT_ERROR
        pass

    def places(name):
        try:
            spec = importlib.machinery.PathFinder.find_spec(name)
        except Exception:
            return []
        if spec is None:
            return []
        found = list(spec.submodule_search_locations or [])
        if found:
            return [os.path.realpath(p) + os.sep for p in found]
        files = [spec.origin]  # a one-file module, and its compiled copy
        try:
            files.append(importlib.util.cache_from_source(spec.origin))
        except Exception:
            pass
        return [os.path.realpath(f) for f in files]

    paths = tuple(p for name in sorted(banned) for p in places(name))

    def refuse(name):
        raise ForbiddenImportError(refusal.format(name=name))

    def audit(event, args):
        if event == "import":
            if isinstance(args[0], str) and args[0].partition(".")[0] in banned:
                refuse(args[0])
        elif event == "open" and paths and isinstance(args[0], (str, bytes, os.PathLike)):
            real = os.path.realpath(os.fsdecode(args[0]))
            for place in paths:
                if real.startswith(place) or real == place:
                    refuse(place.rstrip(os.sep).rpartition(os.sep)[2])

    sys.addaudithook(audit)
"""

FORBIDDEN_IN_KERNEL = Phrase(
    "'{name}' may not be used in this assignment", "'{name}' нельзя использовать в этом задании"
)

_INSTALL = re.compile(
    r"^(?P<indent>[ \t]*)[!%]\s*(?:pip3?|conda|mamba|apt(?:-get)?|uv)\b.*$", re.MULTILINE
)


def skip_installs(source: str) -> str:
    """``!pip install ...`` and friends become ``pass``: the runtime has the course's packages,
    and a sandbox without network would only wait for time-outs."""
    return _INSTALL.sub(lambda m: f"{m['indent']}pass  # grader: install skipped", source)


@dataclass
class Execution:
    """What running the notebook produced; the kernel stays alive for the tests when usable."""

    outcome: RunOutcome
    kernel: Kernel

    @property
    def usable(self) -> bool:
        """Every cell ran: the kernel can be asked for values."""
        return self.outcome.completed

    @property
    def cell_errors(self) -> tuple[CellError, ...]:
        return self.outcome.cell_errors


class _CappedClient(NotebookClient):
    """An nbclient that keeps at most ``max_output_bytes`` of outputs in memory."""

    def __init__(self, nb: NotebookNode, *, max_output_bytes: int, **kwargs: Any) -> None:
        super().__init__(nb, **kwargs)
        self._budget = max_output_bytes
        self._cut = False
        self.failed: dict[int, dict[str, Any]] = {}
        """execute_reply contents of cells that raised, by index (even without an error output,
        as when IPython itself runs out of memory formatting the traceback)."""
        self.on_cell_error = self._remember_error

    def _remember_error(
        self, cell: NotebookNode, cell_index: int, execute_reply: dict[str, Any]
    ) -> None:
        self.failed[cell_index] = dict(execute_reply.get("content") or {})

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        self._budget -= _size(msg)
        if self._budget >= 0:
            return super().output(outs, msg, display_id, cell_index)
        if msg.get("msg_type") == "error":  # errors are verdicts: kept past the cap, trimmed
            return super().output(outs, _trimmed_error(msg), display_id, cell_index)
        if not self._cut:
            self._cut = True
            note = nbformat.v4.new_output(
                "stream", name="stderr", text="[grader: output limit reached, rest dropped]\n"
            )
            outs.append(note)
        return None


def _size(msg: dict[str, Any]) -> int:
    """Bytes an output costs; a stream's text is measured as is, not copied into JSON."""
    content = msg.get("content", {})
    text = content.get("text") if msg.get("msg_type") == "stream" else None
    return len(text) if isinstance(text, str) else len(json.dumps(content, default=str))


def _trimmed_error(msg: dict[str, Any]) -> dict[str, Any]:
    content = msg.get("content", {})
    short = {
        "ename": str(content.get("ename", ""))[:200],
        "evalue": str(content.get("evalue", ""))[:500],
        "traceback": [],
    }
    return {**msg, "content": short}


def preamble(seed: int, imports: set[str], forbidden: list[str], lang: Language = "en") -> str:
    """The grader's setup code: seeds, and the import blocker speaking the course's language."""
    seeded = sorted({"numpy", "torch"} & imports)
    refusal = FORBIDDEN_IN_KERNEL.text(lang)
    call = f"_grader_setup({seed}, {seeded!r}, {sorted(forbidden)!r}, {refusal!r})"
    return f"{_PREAMBLE}{call}; del _grader_setup, _grader_forbid"


@contextmanager
def run_notebook(
    nb: NotebookNode,
    *,
    sandbox: Sandbox,
    request: KernelRequest,
    setup_code: str,
    on_cell: CellHook | None = None,
) -> Iterator[Execution]:
    """Execute ``nb``'s code cells; yield the outcome while the kernel is still running."""
    limits = request.limits
    with sandbox.kernel(request) as kernel:
        client = _CappedClient(
            nb,
            km=kernel.manager,
            timeout=limits.cell_timeout,
            allow_errors=True,
            startup_timeout=60,
            max_output_bytes=limits.max_output_kb * 1024,
            kernel_name="python3",
            resources={"metadata": {"path": str(request.workdir)}},
        )
        try:
            _start(client, sandbox.name)
            started = time.monotonic()
            with client.setup_kernel():
                stopped = _run_setup(client, setup_code, kernel, started)
                outcome = stopped or _run_cells(
                    client, kernel, limits.total_timeout, on_cell, started
                )
                yield Execution(outcome, kernel)
        finally:
            _stop_client(client)


def _run_setup(
    client: NotebookClient, code: str, kernel: Kernel, started: float
) -> RunOutcome | None:
    """Run the grader's setup code as a cell of its own, appended only while it runs.

    nbclient stores an executed cell back at ``nb.cells[index]``; an index outside the notebook
    (such as -1) would overwrite the student's last cell. The setup imports (and seeds) the
    libraries the notebook imports: when that cannot finish, the outcome says so (``cell`` is
    None: no cell of the student's was running).
    """
    cells = client.nb.cells
    cells.append(nbformat.v4.new_code_cell(code))
    try:
        client.execute_cell(cells[-1], len(cells) - 1, store_history=False)
    except CellTimeoutError:
        return _stopped(Stop.CELL_TIME_LIMIT, started, seconds_limit=float(client.timeout or 0))
    except DeadKernelError:
        return _stopped(_death(kernel), started)
    except Exception as exc:  # the kernel broke the protocol (see _broken)
        return _stopped(Stop.PROTOCOL_BROKEN, started, detail=type(exc).__name__)
    finally:
        cells.pop()
    return None


def _start(client: NotebookClient, backend: str) -> None:
    """Start the kernel and its client, or say why the sandbox could not."""
    try:
        client.start_new_kernel()
        client.start_new_kernel_client()
    except SandboxError:
        raise
    except Exception as exc:
        raise SandboxError(
            f"the {backend} sandbox could not start a kernel: {exc}", hint="run `grade doctor`"
        ) from exc


def _stop_client(client: NotebookClient) -> None:
    """Stop nbclient's kernel client: its heartbeat thread, sockets and zmq context. nbclient
    leaves them running when it did not create the kernel manager (``owns_km`` is False)."""
    if client.kc is not None:
        run_sync(_end_tasks_of)(client)
        client.kc.stop_channels()
        client.kc = None


async def _end_tasks_of(client: NotebookClient) -> None:
    """Cancel and wait for the tasks ``client`` left on the event loop.

    nbclient does not cancel a cell's output-polling task when the cell times out. Left pending,
    it may resume once the channels are stopped and fail; the garbage collector then logs "Task
    exception was never retrieved" at whatever moment it runs, and on CPython 3.11 formatting
    that traceback parses source, which breaks any ``ast.parse`` it interrupts (see
    grader.pipeline.parsing).
    """
    current = asyncio.current_task()
    left = [t for t in asyncio.all_tasks() if t is not current and _owner(t) is client]
    for task in left:
        task.cancel()
    await asyncio.gather(*left, return_exceptions=True)


def _owner(task: asyncio.Task[Any]) -> object:
    """The ``self`` of the method a task runs (None for plain coroutines)."""
    frame = getattr(task.get_coro(), "cr_frame", None)
    return frame.f_locals.get("self") if frame is not None else None


def _run_cells(
    client: _CappedClient,
    kernel: Kernel,
    total: float,
    on_cell: CellHook | None,
    started: float,
) -> RunOutcome:
    cells = client.nb.cells
    errors: list[CellError] = []
    per_cell = float(client.timeout or total)
    for index, cell in enumerate(cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        remaining = total - (time.monotonic() - started)
        if remaining <= 0:
            return _stopped(Stop.TOTAL_TIME_LIMIT, started, errors, seconds_limit=total)
        client.timeout = int(max(1, min(per_cell, remaining)))
        cell.source = skip_installs(cell.source)
        if on_cell:
            on_cell(index, len(cells))
        at = (index, _head(cell.source))
        try:
            client.execute_cell(cell, index)
        except CellTimeoutError:
            limit = float(client.timeout)
            return _stopped(Stop.CELL_TIME_LIMIT, started, errors, seconds_limit=limit, at=at)
        except DeadKernelError:
            return _stopped(_death(kernel), started, errors, at=at)
        except Exception as exc:  # a forged HMAC key, garbage on a channel: not our bug
            detail = f"{type(exc).__name__}: {str(exc)[:200]}"
            return _stopped(Stop.PROTOCOL_BROKEN, started, errors, detail=detail, at=at)
        errors.extend(_errors_of(cell, index, client.failed.get(index)))
    return RunOutcome(cell_errors=tuple(errors), seconds=time.monotonic() - started)


def _death(kernel: Kernel) -> Stop:
    """Why the kernel died, as its sandbox tells it."""
    return Stop.OUT_OF_MEMORY if kernel.end() is KernelEnd.OUT_OF_MEMORY else Stop.KERNEL_DIED


def _stopped(
    stop: Stop,
    started: float,
    errors: list[CellError] | None = None,
    *,
    at: tuple[int, str] | None = None,
    seconds_limit: float = 0.0,
    detail: str = "",
) -> RunOutcome:
    """``at``: the running cell's index and first lines; None while the setup code ran."""
    return RunOutcome(
        stop=stop,
        cell=at[0] if at else None,
        cell_head=at[1] if at else "",
        seconds_limit=seconds_limit,
        detail=detail,
        cell_errors=tuple(errors or ()),
        seconds=time.monotonic() - started,
    )


def _head(source: str, lines: int = 2) -> str:
    text = "\n".join(source.strip().splitlines()[:lines])
    return text if len(text) <= 160 else text[:157] + "..."


def _errors_of(
    cell: NotebookNode, index: int, reply: dict[str, Any] | None = None
) -> list[CellError]:
    """The cell's error outputs; else the error its execute_reply names, if it has one."""
    shown = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not shown and reply is not None:
        shown = [{"ename": reply.get("ename") or "Error", "evalue": reply.get("evalue", "")}]
    return [
        CellError(
            index=index,
            ename=str(o.get("ename", ""))[:200],
            evalue=str(o.get("evalue", ""))[:500],
            source_head=_head(cell.source, 3),
        )
        for o in shown
    ]
