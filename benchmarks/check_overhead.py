"""Overhead of `grade check` over executing the same notebook with plain nbclient.

    python benchmarks/check_overhead.py [ASSIGNMENT] [--runs N]

Prints, side by side (median of N runs, seconds):
  plain nbclient        NotebookClient(nb).execute() in this process, fresh kernel
  grade_submission      the library call behind `grade check` (public tests), in this process
  grade check (CLI)     the command a student runs, as a new process (imports included)
Target (issue 2): grade_submission under 1.5 s over plain nbclient.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.core.spec import load_assignment  # noqa: E402
from grader.pipeline.grading import Options, grade_submission  # noqa: E402
from grader.sandbox.local import LocalSandbox  # noqa: E402


def plain_nbclient(notebook: Path, data: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "data").symlink_to(data)
        nb = nbformat.read(notebook, as_version=4)
        NotebookClient(nb, timeout=600, resources={"metadata": {"path": tmp}}).execute()


def median_time(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("assignment", nargs="?", default="gd_backprop")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    spec = load_assignment(ROOT / "assignments" / args.assignment)
    notebook = ROOT / "reference_solutions" / f"{args.assignment}.ipynb"
    options = Options(sandbox=LocalSandbox(), hidden=False)
    cli = ["grade", "check", str(notebook), "--json"]

    plain_nbclient(notebook, spec.path(spec.data.public))  # warm the file cache once
    rows = {
        "plain nbclient": median_time(
            lambda: plain_nbclient(notebook, spec.path(spec.data.public)), args.runs
        ),
        "grade_submission (library)": median_time(
            lambda: grade_submission(spec, notebook, options=options), args.runs
        ),
        "grade check (CLI process)": median_time(
            lambda: subprocess.run(cli, cwd=ROOT, capture_output=True, check=False), args.runs
        ),
    }
    base = rows["plain nbclient"]
    print(f"{args.assignment}: median of {args.runs} runs on this machine")
    print(f"{'method':<30}{'seconds':>10}{'overhead':>12}")
    for name, seconds in rows.items():
        print(f"{name:<30}{seconds:>10.2f}{seconds - base:>+12.2f}")
    lib_overhead = rows["grade_submission (library)"] - base
    verdict = "meets" if lib_overhead < 1.5 else "MISSES"
    print(f"library overhead {lib_overhead:.2f} s {verdict} the 1.5 s target")


if __name__ == "__main__":
    main()
