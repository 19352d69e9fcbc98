"""`grade batch` side by side with `nbgrader autograde` and `otter run` on one gd_backprop class.

    benchmarks/setup_anchors.sh                     # once: nbgrader and Otter in their own venv
    python benchmarks/side_by_side.py --sizes 50,200 [--tools grade-local,nbgrader,otter]
    python benchmarks/side_by_side.py --sizes 50 --tools grade-serial,grade-local,grade-ray

The class: N copies of the reference solution and of the sample submissions (correct, partial,
untouched template, syntax error, forbidden import, invalid JSON), as in ``batch_bench.py class``.
Every tool grades the same notebooks with the same test code:

- ``grade batch`` runs assignments/gd_backprop/tests on the host, calling into the kernel through
  the bridge (``-j 2``, local or Docker backend).
- nbgrader and Otter get a course/autograder made here with their own tools (``nbgrader
  generate_assignment``, ``otter assign``): one grade cell per test of the assignment, worth the
  test's points, which runs the same pytest files *inside the kernel* (kernel_shim/kshim.py gives
  them the grader's fixtures backed by the kernel's namespace). Partial credit (``credit``) is
  all-or-nothing there: a grade cell passes or fails.
- The grader's own alternatives: ``grade-serial`` (``-j 1``), ``grade-fork-off`` (``-j 2``, every
  kernel a new process: ``GRADER_NO_ZYGOTE=1``, what the zygote buys), ``grade-ray`` (``--engine
  ray`` on a local cluster of two worker nodes, one CPU each, started before the clock and not
  counted) and ``grade-cached`` (``grade-local`` run again: nothing changed, nothing regraded).
- nbgrader: ``nbgrader autograde`` (one process, serial: it has no parallel mode). Otter:
  ``otter run`` per submission through ``xargs -P 2`` (as the anchor bench does; Otter's only
  parallel mode is ``otter grade`` in Docker). Both with one BLAS thread, as the grader's sandbox.

Printed: wall time, CPU seconds of the whole process tree (cgroup cpuacct; kernels inside Docker
containers are not counted), peak RSS of the tool's process tree, and the mean score per variant
for each tool (a check that all of them graded, not only ran), then a table of the tools side by
side. Appended to benchmarks/results/side_by_side.jsonl. The Ray nodes are processes of their
own: their CPU and memory are not in the grader's columns.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import batch_bench as bb  # noqa: E402

ASSIGNMENT = ROOT / "assignments" / "gd_backprop"
SHIM = ROOT / "benchmarks" / "kernel_shim" / "kshim.py"
RESULTS = ROOT / "benchmarks" / "results" / "side_by_side.jsonl"
KERNELSPEC = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
TOOLS = (
    "grade-serial",
    "grade-fork-off",
    "grade-local",
    "grade-cached",
    "grade-docker",
    "grade-ray",
    "nbgrader",
    "otter",
)
GRADE_RUNS = {  # tool: (backend, jobs or None for -j, extra arguments, extra environment)
    "grade-serial": ("local", 1, ("--force",), {}),
    "grade-fork-off": ("local", None, ("--force",), {"GRADER_NO_ZYGOTE": "1"}),
    "grade-local": ("local", None, ("--force",), {}),
    "grade-cached": ("local", None, (), {}),
    "grade-docker": ("docker", None, ("--force",), {}),
    "grade-ray": ("local", None, ("--force", "--engine", "ray"), {}),
}


# ---------------------------------------------------------------- tests and points
def test_points(tests: Path) -> dict[str, float]:
    """``{"hidden/test_gd.py::test_x": points}`` read from each test's ``points`` mark."""
    found: dict[str, float] = {}
    for path in sorted(tests.rglob("test_*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                found[f"{path.relative_to(tests)}::{node.name}"] = _points(node)
    return found


def _points(node: ast.FunctionDef) -> float:
    for deco in node.decorator_list:
        if isinstance(deco, ast.Call) and ast.unparse(deco.func).endswith("mark.points"):
            return float(ast.literal_eval(deco.args[0]))
    raise SystemExit(f"{node.name} has no points mark")


def write_shim(work: Path) -> Path:
    """The in-kernel runner and its config: a copy of the tests, the data, the spec's aliases."""
    spec = tomllib.loads((ASSIGNMENT / "assignment.toml").read_text())
    shim = work / "shim"
    shim.mkdir(parents=True)
    shutil.copy(SHIM, shim)
    shutil.copytree(ASSIGNMENT / "tests", work / "tests")
    config = {
        "tests": str(work / "tests"),
        "public_data": str(ASSIGNMENT / "data" / "public"),
        "hidden_data": str(ASSIGNMENT / "data" / "hidden"),
        "aliases": spec.get("names", {}).get("aliases", {}),
        "scale": str(shutil.copy(ROOT / "grader" / "core" / "scale.py", shim)),
        "helpers": str(shutil.copy(ROOT / "grader" / "testing" / "helpers.py", shim)),
        "errors": str(shutil.copy(ROOT / "grader" / "core" / "errors.py", shim)),
        "lang": str(shutil.copy(ROOT / "grader" / "core" / "lang.py", shim)),
        "messages": str(shutil.copy(ROOT / "grader" / "core" / "messages.py", shim)),
    }
    for part in ("kernel_side", "codec", "api"):
        copied = shutil.copy(ROOT / "grader" / "pipeline" / "bridge" / f"{part}.py", shim)
        config["bridge" if part == "kernel_side" else part] = str(copied)
    (shim / "kshim.json").write_text(json.dumps(config, indent=1))
    return shim


def test_code(shim: Path, nodeid: str) -> str:
    """A grade cell: straight-line code, as Otter turns test cells into doctests."""
    return (
        f"import sys; sys.path.insert(0, {str(shim)!r})\n"
        "import kshim\n"
        f"assert kshim.outcome({nodeid!r}) == 1.0, 'failed: {nodeid}'"
    )


def student_cells(path: Path) -> list[Any] | None:
    """The notebook's cells, or None where it is not a readable notebook."""
    try:
        return list(nbformat.read(path, as_version=4).cells)
    except Exception:  # any unreadable notebook is passed on as it is
        return None


def reference_code() -> str:
    cells = student_cells(ROOT / "reference_solutions" / "gd_backprop.ipynb") or []
    return "\n\n".join(c.source for c in cells if c.cell_type == "code")


def write_submission(cells: list[Any] | None, raw: Path, template: Any, dest: Path) -> None:
    """``template`` (the tool's student notebook) with its solution cell replaced by ``cells``.

    The solution cell's metadata goes to the student's first code cell (nbgrader restores a
    cell's type from its source by that metadata)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if cells is None:  # not a notebook: each tool gets the same unreadable file
        shutil.copyfile(raw, dest)
        return
    nb = nbformat.from_dict(json.loads(json.dumps(template)))
    at = next(i for i, c in enumerate(nb.cells) if _is_solution(c))
    fresh = [nbformat.from_dict({k: v for k, v in c.items() if k != "id"}) for c in cells]
    for cell in fresh:
        cell.metadata = {}
    first_code = next((c for c in fresh if c.cell_type == "code"), None)
    if first_code is not None:
        first_code.metadata = nb.cells[at].metadata
    nb.cells[at : at + 1] = fresh
    nbformat.validator.normalize(nb)
    nbformat.write(nb, dest)


def _is_solution(cell: Any) -> bool:
    if cell.cell_type != "code":
        return False
    if "nbgrader" in cell.metadata:
        return bool(cell.metadata["nbgrader"].get("solution"))
    return "otter.Notebook" not in cell.source and not cell.source.startswith("grader.check")


# ---------------------------------------------------------------- nbgrader
def nbg(grade_id: str, **flags: Any) -> dict[str, Any]:
    meta = {"grade": False, "solution": False, "locked": False, "task": False}
    return {"nbgrader": {**meta, **flags, "grade_id": grade_id, "schema_version": 3}}


def build_nbgrader(work: Path, shim: Path, points: dict[str, float], plan: dict[str, Path]) -> Path:
    root = work / "nbgrader"
    root.mkdir()
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'bench'\n"
        f"c.CourseDirectory.root = {str(root)!r}\nc.ExecutePreprocessor.timeout = 300\n"
    )
    cells = [
        new_markdown_cell("# gd_backprop", metadata=nbg("title", locked=True)),
        new_code_cell(
            f"### BEGIN SOLUTION\n{reference_code()}\n### END SOLUTION",
            metadata=nbg("solution", solution=True),
        ),
    ]
    for i, (nodeid, pts) in enumerate(points.items()):
        src = test_code(shim, nodeid)
        if nodeid.startswith("hidden/"):
            src = f"### BEGIN HIDDEN TESTS\n{src}\n### END HIDDEN TESTS"
        cells.append(
            new_code_cell(src, metadata=nbg(f"t{i:02d}", grade=True, locked=True, points=pts))
        )
    nbformat.write(new_notebook(cells=cells, metadata=KERNELSPEC), _mk(root / "source/hw/hw.ipynb"))
    (root / "students.csv").write_text(
        "id,first_name,last_name,email\n" + "".join(f"{s},{s},S,\n" for s in plan)
    )
    for cmd in (
        ["db", "assignment", "add", "hw"],
        ["generate_assignment", "hw", "--force"],
        ["db", "student", "import", "students.csv"],
    ):
        anchors_tool("nbgrader", cmd, cwd=root)
    release = nbformat.read(root / "release/hw/hw.ipynb", as_version=4)
    for student, path in plan.items():
        folder = root / "submitted" / student / "hw"
        write_submission(student_cells(path), path, release, folder / "hw.ipynb")
        shutil.copytree(ASSIGNMENT / "data" / "public", folder / "data")
        (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC")
    return root


def nbgrader_scores(root: Path) -> dict[str, float]:
    anchors_tool("nbgrader", ["export", "--to", "grades.csv"], cwd=root)
    with (root / "grades.csv").open() as fh:
        return {row["student_id"]: float(row["raw_score"] or 0) for row in csv.DictReader(fh)}


# ---------------------------------------------------------------- Otter
OTTER_CONFIG = """# ASSIGNMENT CONFIG
name: hw
init_cell: true
check_all_cell: false
export_cell: false
files:
  - data
generate:
  pdf: false
tests:
  files: false
  ok_format: true
"""


def build_otter(work: Path, shim: Path, points: dict[str, float], plan: dict[str, Path]) -> Path:
    root = work / "otter"
    master = _mk(root / "master" / "hw.ipynb")
    shutil.copytree(ASSIGNMENT / "data" / "public", master.parent / "data")
    cells = [
        new_raw_cell(OTTER_CONFIG),
        new_markdown_cell("# gd_backprop"),
        new_raw_cell("# BEGIN QUESTION\nname: tests"),
        new_markdown_cell("Implement `LinearRegressionGD` and `MLPRegressor` (see README.md)."),
        new_code_cell(f"# BEGIN SOLUTION\n{reference_code()}\n# END SOLUTION"),
        new_raw_cell("# BEGIN TESTS"),
    ]
    for nodeid, pts in points.items():
        hidden = "true" if nodeid.startswith("hidden/") else "false"
        head = f'""" # BEGIN TEST CONFIG\nhidden: {hidden}\npoints: {pts}\n""" # END TEST CONFIG\n'
        cells.append(new_code_cell(head + test_code(shim, nodeid)))
    cells += [new_raw_cell("# END TESTS"), new_raw_cell("# END QUESTION")]
    nbformat.write(new_notebook(cells=cells, metadata=KERNELSPEC), master)
    anchors_tool("otter", ["assign", str(master), str(root / "dist")], cwd=root)
    (zipped,) = (root / "dist" / "autograder").glob("*.zip")
    student = nbformat.read(root / "dist" / "student" / "hw.ipynb", as_version=4)
    for name, path in plan.items():
        write_submission(student_cells(path), path, student, root / "subs" / f"{name}.ipynb")
    shutil.copy(zipped, root / "autograder.zip")
    return root


def otter_command(root: Path, out: Path, jobs: int) -> list[str]:
    otter = str(anchors_bin() / "otter")
    each = f'{otter} run --no-logo -a "$1" -o "$2/$(basename "$3" .ipynb)" "$3" > /dev/null 2>&1'
    script = (
        f'for nb in "{root}/subs"/*.ipynb; do mkdir -p "{out}/$(basename "$nb" .ipynb)"; done; '
        f'ls "{root}/subs"/*.ipynb | xargs -P {jobs} -I{{}} sh -c {_q(each)} _ '
        f'"{root}/autograder.zip" "{out}" {{}}'
        "  || [ $? -eq 123 ]"  # xargs: some submission failed (invalid JSON): graded as such
    )
    return ["bash", "-c", script]


def otter_scores(out: Path) -> dict[str, float]:
    scores = {}
    for result in out.glob("*/results.json"):
        tests = json.loads(result.read_text()).get("tests", [])
        scores[result.parent.name] = sum(t.get("score") or 0 for t in tests)
    return scores


# ---------------------------------------------------------------- running
def anchors_bin() -> Path:
    return Path(os.environ.get("ANCHORS_VENV", ROOT / "benchmarks" / ".anchors-venv")) / "bin"


def anchors_env() -> dict[str, str]:
    path = f"{anchors_bin()}:{os.environ['PATH']}"
    return {**os.environ, **ONE_THREAD, "PATH": path, "VIRTUAL_ENV": str(anchors_bin().parent)}


def anchors_tool(tool: str, args: list[str], cwd: Path) -> None:
    proc = subprocess.run(
        [str(anchors_bin() / tool), *args],
        cwd=cwd,
        env=anchors_env(),
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        raise SystemExit(
            f"{tool} {' '.join(args)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}"
        )


def grade_scores(out: Path) -> dict[str, float]:
    rows = json.loads((out / "gradebook.json").read_text())["students"]
    return {row["student"]: float(row["total"]) for row in rows}


def run_tool(
    tool: str, work: Path, built: dict[str, Path], jobs: int
) -> tuple[dict[str, Any], dict[str, float]]:
    out = work / f"out-{tool}"
    if tool in GRADE_RUNS:
        return run_grade(tool, work, built, jobs)
    if tool == "nbgrader":
        root = built["nbgrader"]
        cmd = [str(anchors_bin() / "nbgrader"), "autograde", "hw", "--force"]
        return _timed_in(root, cmd), nbgrader_scores(root)
    out.mkdir()
    return bb.timed(otter_command(built["otter"], out, jobs), env=anchors_env()), otter_scores(out)


def run_grade(
    tool: str, work: Path, built: dict[str, Any], jobs: int
) -> tuple[dict[str, Any], dict[str, float]]:
    backend, fixed, extra, env = GRADE_RUNS[tool]
    out = work / ("out-grade-local" if tool == "grade-cached" else f"out-{tool}")
    if tool == "grade-ray":
        extra = (*extra, "--address", built["ray"].address)
    cmd = bb.grade_batch(ASSIGNMENT, work / "class", out, backend, fixed or jobs, *extra)
    return bb.timed(cmd, env={**os.environ, **env}), grade_scores(out)


def _timed_in(cwd: Path, cmd: list[str]) -> dict[str, Any]:
    here = Path.cwd()
    os.chdir(cwd)
    try:
        return bb.timed(cmd, env=anchors_env())
    finally:
        os.chdir(here)


def by_variant(scores: dict[str, float], plan: dict[str, Path], maximum: float) -> dict[str, float]:
    sums: dict[str, list[float]] = defaultdict(list)
    for student, path in plan.items():
        sums[_variant(path)].append(scores.get(student, 0.0) / maximum)
    return {v: round(sum(x) / len(x), 3) for v, x in sorted(sums.items())}


def _variant(path: Path) -> str:
    return "reference" if path.parent.name == "reference_solutions" else path.parent.name


def _mk(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _q(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def bench(
    n: int, tools: list[str], jobs: int, workdir: Path, results: Path, cluster: Any
) -> list[dict[str, Any]]:
    work = workdir / f"class{n}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    plan = bb.class_plan(n)
    bb.make_class(work / "class", n)
    shim = write_shim(work)
    points = test_points(work / "tests")
    built: dict[str, Any] = {}
    if cluster is not None:
        built["ray"] = cluster
    if "nbgrader" in tools:
        built["nbgrader"] = build_nbgrader(work, shim, points, plan)
    if "otter" in tools:
        built["otter"] = build_otter(work, shim, points, plan)
    rows = []
    for tool in tools:
        measured, scores = run_tool(tool, work, built, jobs)
        maximum = 5.0 if tool in GRADE_RUNS else sum(points.values())
        row = {
            "bench": "side_by_side",
            "n": n,
            "tool": tool,
            "jobs": jobs,
            **measured,
            **bb.per_submission(measured, n),
            "graded": len(scores),
            "mean_score_by_variant": by_variant(scores, plan, maximum),
        }
        bb.record(results, row)
        rows.append(row)
    return rows


def table(rows: list[dict[str, Any]]) -> None:
    """The tools side by side: time per submission, CPU, memory, and how many times faster
    than nbgrader and Otter (in the same run)."""
    anchors = {r["tool"]: r["s_per_submission"] for r in rows if r["tool"] in ("nbgrader", "otter")}
    print(
        f"\n{'class':>5}  {'tool':15} {'s/sub':>6} {'CPU-s/sub':>9} {'RSS MB':>7} {'wall s':>7}",
        end="",
    )
    print("".join(f" {'vs ' + name:>10}" for name in anchors))
    for r in rows:
        cpu = r.get("cpu_s_per_submission")
        print(
            f"{r['n']:>5}  {r['tool']:15} {r['s_per_submission']:6.2f} "
            f"{cpu if cpu is not None else '-':>9} {r['parent_peak_mb']:7.0f} {r['wall_s']:7.1f}",
            end="",
        )
        print("".join(f" {v / r['s_per_submission']:9.2f}×" for v in anchors.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[50, 200])
    parser.add_argument("--tools", type=lambda s: s.split(","), default=list(TOOLS))
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "side-by-side"
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    unknown = set(args.tools) - set(TOOLS)
    if unknown:
        parser.error(f"unknown tools {sorted(unknown)}; choose from {', '.join(TOOLS)}")
    if {"nbgrader", "otter"} & set(args.tools) and not (anchors_bin() / "nbgrader").exists():
        parser.error(
            f"no nbgrader/Otter in {anchors_bin().parent}: run benchmarks/setup_anchors.sh"
        )
    with ExitStack() as stack:
        cluster = stack.enter_context(ray_cluster()) if "grade-ray" in args.tools else None
        for n in args.sizes:
            table(bench(n, args.tools, args.jobs, args.workdir, args.results, cluster))


@contextmanager
def ray_cluster() -> Iterator[Any]:
    """Two worker nodes of one CPU each on this machine, started before any clock."""
    from grader.batch.localcluster import LocalCluster

    started = time.perf_counter()
    with LocalCluster(workers=2, cpus=1) as cluster:
        print(f"Ray: head + two worker nodes up in {time.perf_counter() - started:.1f} s")
        yield cluster


if __name__ == "__main__":
    main()
