"""Time per web app (detection_ui) next to the notebook assignments, and a class in parallel.

    python benchmarks/app_bench.py [--apps reference,correct_fastapi_html] [--batch N] [--json F]

Docker backend; the runtime image and the detection_ui extension must exist
(`grade image build --offline --assignment detection_ui`). For each app: **start** (container
up until the first HTTP answer), **http** (the HTTP checks), **browser** (the sandboxed
Chromium checks, including its start), **image** (building and starting the student's own
Dockerfile, the bonus), **total**. Beside them, one submission of each notebook assignment
(gd_backprop, cnn_tuning reference notebooks) through the same Docker backend. With
``--batch N``, `grade batch detection_ui -j 2` over N copies of the samples: wall time per app
against the sum of the serial times.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from grader.core.spec import load_assignment
from grader.pipeline.grading import Options, grade_submission
from grader.pipeline.services.fixtures import Clock
from grader.pipeline.services.grading import grade_app
from grader.sandbox.docker import DockerSandbox

REPO = Path(__file__).resolve().parents[1]
APPS = {
    "reference": REPO / "reference_solutions" / "detection_ui",
    **{p.name: p for p in sorted((REPO / "student_submissions" / "detection_ui").iterdir())},
}
NOTEBOOKS = {
    "gd_backprop": REPO / "reference_solutions" / "gd_backprop.ipynb",
    "cnn_tuning": REPO / "reference_solutions" / "cnn_tuning.ipynb",
}


def time_apps(names: list[str], sandbox: DockerSandbox) -> list[dict[str, object]]:
    spec = load_assignment(REPO / "assignments" / "detection_ui")
    rows = []
    for name in names:
        clock = Clock()
        result = grade_app(spec, APPS[name], options=Options(sandbox=sandbox), clock=clock)
        rows.append(
            {
                "what": f"detection_ui/{name}",
                "status": result.status.value,
                "points": result.points,
                "start": result.timings.execute_s,
                "http": clock.spent.get("http", 0.0),
                "browser": clock.spent.get("browser", 0.0),
                "image": clock.spent.get("image", 0.0),
                "total": result.timings.total_s,
            }
        )
    return rows


def time_notebooks(sandbox: DockerSandbox) -> list[dict[str, object]]:
    rows = []
    for assignment, notebook in NOTEBOOKS.items():
        spec = load_assignment(REPO / "assignments" / assignment)
        result = grade_submission(spec, notebook, options=Options(sandbox=sandbox))
        rows.append(
            {
                "what": f"{assignment} (notebook)",
                "status": result.status.value,
                "points": result.points,
                "start": result.timings.execute_s,
                "http": result.timings.tests_s,
                "browser": 0.0,
                "image": 0.0,
                "total": result.timings.total_s,
            }
        )
    return rows


def time_batch(count: int) -> dict[str, float]:
    """`grade batch detection_ui -j 2` over ``count`` apps (the samples, repeated)."""
    names = [n for n in APPS if n != "never_starts"]
    with tempfile.TemporaryDirectory(prefix="app-bench-") as tmp:
        klass = Path(tmp, "class")
        for index in range(count):
            name = names[index % len(names)]
            shutil.copytree(APPS[name], klass / f"student{index:03d}_{name}")
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "grader.cli", "batch", "detection_ui", str(klass),
             "--out", str(Path(tmp, "out")), "-j", "2", "--backend", "docker"],
            cwd=REPO, check=False, capture_output=True,
        )  # fmt: skip
        wall = time.monotonic() - started
        graded = sum(
            '"status": "graded"' in p.read_text() for p in Path(tmp, "out").rglob("result.json")
        )
    return {"apps": count, "wall_s": wall, "per_app_s": wall / count, "graded": graded}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", default="reference,correct_fastapi_html")
    parser.add_argument("--batch", type=int, default=0)
    parser.add_argument("--no-notebooks", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sandbox = DockerSandbox()
    rows = time_apps(args.apps.split(","), sandbox)
    if not args.no_notebooks:
        rows += time_notebooks(sandbox)
    table = Table(title="seconds per submission (Docker backend)")
    for column in ("what", "status", "points", "start", "http", "browser", "image", "total"):
        table.add_column(column, justify="left" if column in ("what", "status") else "right")
    for row in rows:
        table.add_row(*(f"{v:.1f}" if isinstance(v, float) else str(v) for v in row.values()))
    Console().print(table)
    print("notebooks: 'start' = running the notebook, 'http' = the tests through the bridge")
    batch = time_batch(args.batch) if args.batch else None
    if batch:
        print(f"grade batch detection_ui -j 2: {batch['apps']} apps in {batch['wall_s']:.0f} s "
              f"({batch['per_app_s']:.1f} s per app, {batch['graded']} graded)")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "batch": batch}, indent=2))


if __name__ == "__main__":
    main()
