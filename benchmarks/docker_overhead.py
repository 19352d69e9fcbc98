"""What Docker costs per submission: kernel start and a small notebook, Docker vs local.

    python benchmarks/docker_overhead.py [--runs 5] [--torch] [--json out.json]

Backends: ``plain`` (nbclient's own kernel, no limits), ``local`` (LocalSandbox) and
``docker`` (DockerSandbox, the runtime image must exist: `grade image build`). For each run:
``ready`` = from asking the sandbox for a kernel to the kernel answering kernel_info;
``total`` = the whole submission (sandbox set up, notebook run, everything removed).
Medians are printed side by side; the target is < 2 s Docker overhead per submission.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from rich.console import Console
from rich.table import Table

from grader.core.spec import Resources
from grader.sandbox.base import KernelRequest
from grader.sandbox.docker import DockerSandbox
from grader.sandbox.local import LocalSandbox

CELLS = [
    "import numpy as np",
    "x = np.random.default_rng(0).normal(size=(500, 500))",
    "float((x @ x.T).trace())",
    "print(sum(range(10**6)))",
]
Backend = Callable[[KernelRequest], AbstractContextManager[AsyncKernelManager | None]]


@contextmanager
def _plain(_: KernelRequest) -> Iterator[None]:
    yield None  # nbclient starts and owns its own kernel


def backends() -> dict[str, Backend]:
    return {"plain": _plain, "local": LocalSandbox().kernel, "docker": DockerSandbox().kernel}


def run_once(backend: Backend, *, cells: list[str]) -> tuple[float, float]:
    """(seconds until the kernel is ready, seconds for the whole submission)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        request = KernelRequest(workdir=Path(tmp), limits=Resources(memory_mb=2048))
        with backend(request) as km:
            client = NotebookClient(nb, km=km, timeout=120, resources={"metadata": {"path": tmp}})
            with client.setup_kernel():
                ready = time.perf_counter() - start
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index)
    return ready, time.perf_counter() - start


def measure(runs: int, cells: list[str]) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    for name, backend in backends().items():
        run_once(backend, cells=cells)  # warm-up: page cache, image layers
        samples = [run_once(backend, cells=cells) for _ in range(runs)]
        results[name] = {
            "ready": statistics.median(s[0] for s in samples),
            "total": statistics.median(s[1] for s in samples),
            "total_max": max(s[1] for s in samples),
        }
    return results


def render(results: dict[str, dict[str, float]], runs: int) -> Table:
    table = Table(title=f"per submission, median of {runs} runs (s)")
    table.add_column("backend")
    for column in ("kernel ready", "whole submission", "worst", "overhead vs local"):
        table.add_column(column, justify="right")
    local = results["local"]["total"]
    for name, row in results.items():
        overhead = f"{row['total'] - local:+.2f}" if name != "local" else "-"
        table.add_row(
            name, f"{row['ready']:.2f}", f"{row['total']:.2f}", f"{row['total_max']:.2f}", overhead
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--torch", action="store_true", help="the notebook also imports torch")
    parser.add_argument("--json", type=Path, help="also write the medians here")
    args = parser.parse_args()
    cells = [*CELLS, "import torch; torch.ones(3).sum().item()"] if args.torch else CELLS
    results = measure(args.runs, cells)
    Console().print(render(results, args.runs))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
