"""Import cost of `grade report` (re-render stored results) side by side with `grade check`'s
grading stack, measured with `python -X importtime` in fresh interpreters.

    python benchmarks/report_imports.py [--runs 5] [--src DIR]

``--src`` puts another checkout of the grader first on ``sys.path`` (e.g. a worktree of an older
commit) to compare before and after. Prints the median of the summed top-level import times
and which of the kernel stack's packages were loaded.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

KERNEL_STACK = ("nbclient", "jupyter_client", "zmq", "pytest", "docker")
COMMANDS = {
    "grade report OUT": (
        "from grader.cli import app\ntry: app(['report', {out!r}])\nexcept SystemExit: pass"
    ),
    "import the grading stack": "import grader.pipeline.grading",
}


def measure(code: str, src: str | None, cwd: str) -> tuple[float, set[str]]:
    """(seconds, kernel-stack packages loaded); run outside the checkout, so that ``--src``
    (on PYTHONPATH) is the grader imported, not the current directory's."""
    env = {**os.environ, **({"PYTHONPATH": src} if src else {})}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
    )
    rows = [line.split("|") for line in done.stderr.splitlines() if line.startswith("import time:")]
    rows = [r for r in rows[1:] if len(r) == 3]
    top = [r for r in rows if r[2].startswith(" ") and not r[2].startswith("  ")]
    loaded = {r[2].strip().split(".")[0] for r in rows}
    return sum(int(r[1]) for r in top) / 1e6, loaded & set(KERNEL_STACK)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--src", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        for name, template in COMMANDS.items():
            code = template.format(out=out)
            runs = [measure(code, args.src, out) for _ in range(args.runs)]
            seconds = statistics.median(r[0] for r in runs)
            stack = ", ".join(sorted(runs[0][1])) or "none"
            print(f"{name:28s} {seconds:6.2f} s of imports   kernel stack loaded: {stack}")


if __name__ == "__main__":
    main()
