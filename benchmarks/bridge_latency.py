"""One bridge call's cost, by transport, side by side in one kernel.

    python benchmarks/bridge_latency.py [--calls 300]

Rows: a bridge call carried on the bridge's comm (what grading uses), the same call carried as a
silent execute request (the fallback, and what every call was before), and a bare
``execute_request`` of ``pass`` (the floor of any execute-based transport). Per call: wall time
of the round trip, CPU of the grader's process, CPU of the kernel's process tree (local backend).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
import psutil

from grader.core.spec import Resources
from grader.pipeline.bridge import Bridge
from grader.pipeline.execute import run_notebook
from grader.sandbox.base import KernelRequest
from grader.sandbox.local import LocalSandbox

CELL = "def identity(value):\n    return value\n"


def measure(call: Callable[[], object], kernel: list[psutil.Process], n: int) -> tuple[float, ...]:
    """(wall, grader CPU, kernel CPU) in ms per call, after 20 warm-up calls."""

    def kernel_cpu() -> float:
        return sum(sum(p.cpu_times()[:2]) for p in kernel)

    for _ in range(20):
        call()
    k0, c0, w0 = kernel_cpu(), time.process_time(), time.perf_counter()
    for _ in range(n):
        call()
    wall, cpu, kcpu = time.perf_counter() - w0, time.process_time() - c0, kernel_cpu() - k0
    return wall * 1000 / n, cpu * 1000 / n, kcpu * 1000 / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    n = parser.parse_args().calls
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    with tempfile.TemporaryDirectory() as work:
        request = KernelRequest(workdir=Path(work), limits=Resources(total_timeout=600))
        with run_notebook(nb, sandbox=LocalSandbox(), request=request, setup_code="") as ex:
            manager = ex.kernel.manager
            root = psutil.Process(manager.provisioner.pid)  # type: ignore[union-attr]
            kernel = [root, *root.children(recursive=True)]
            with Bridge(manager, timeout=60) as bridge:
                rows = {
                    "bridge call, comm (grading)": measure(
                        lambda: bridge.call("identity", 1), kernel, n
                    )
                }
                comm, bridge._comm_id = bridge._comm_id, None  # the fallback transport
                rows["bridge call, execute request"] = measure(
                    lambda: bridge.call("identity", 1), kernel, n
                )
                rows["execute_request of `pass`"] = measure(
                    lambda: bridge._execute("pass", "pass"), kernel, n
                )
                bridge._comm_id = comm
    print(f"{n} calls each, ms per call")
    print(f"{'':32} {'wall':>6} {'grader CPU':>11} {'kernel CPU':>11}")
    for label, (wall, cpu, kcpu) in rows.items():
        print(f"{label:32} {wall:6.2f} {cpu:11.2f} {kcpu:11.2f}")


if __name__ == "__main__":
    main()
