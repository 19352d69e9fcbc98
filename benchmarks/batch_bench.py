"""Throughput, cache and memory of `grade batch` (issue: grade batch for instructors).

    python benchmarks/batch_bench.py class  [--sizes 50,200] [--backend local] [-j 2]
    python benchmarks/batch_bench.py anchor [--rounds 3] [--backend local] [-j 2]
    python benchmarks/batch_bench.py floor  [--count 20]

class   N submissions of gd_backprop (copies of the reference solution and of the sample
        submissions: correct, partial, template, syntax error, forbidden import, invalid JSON;
        not the infinite loop) graded cold, then rerun fully cached. Wall time per submission,
        peak RSS of the grader's own process (the parent) and of the whole process tree.
anchor  the anchor bench's 20 notebooks and 5 tests (benchmarks/anchor_assignment, generated
        from /work/shared/anchor-bench/hwdef.py), scores checked against the answer key, next to
        nbgrader's and Otter's times *measured earlier on this machine* (BASELINE.md).
floor   per-submission overhead against plain nbclient executing the same notebooks
        (one process, fresh kernel each, no tests), both serial.

Results are appended as JSON lines to benchmarks/results/batch.jsonl (``--results``) and
printed as a table. Needs psutil (``pip install psutil``). The machine is shared: the load
average is recorded with every measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import make_anchor_assignment as anchor  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "batch.jsonl"
VARIANTS = (
    "correct",
    "partial_gd_only",
    "untouched_template",
    "syntax_error",
    "forbidden_torch",
    "invalid_json",
)
BASELINE = {  # /work/shared/anchor-bench/BASELINE.md, measured earlier on this machine
    "nbgrader autograde (20 students, one process)": 1.99,
    "otter run x20 via xargs -P 2": 4.13,
    "otter grade, Docker, 2 containers": 4.9,
    "floor: nbclient, notebook + tests, serial": 1.22,
}


class Peak:
    """Samples RSS at 10 Hz: the grader's own process, and its whole process tree."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.parent = self.tree = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                own = self.proc.memory_info().rss
                kids = sum(c.memory_info().rss for c in self.proc.children(recursive=True))
            except psutil.Error:
                own, kids = 0, 0
            self.parent, self.tree = max(self.parent, own), max(self.tree, own + kids)
            self._stop.wait(0.1)

    def stop(self) -> tuple[float, float]:
        self._stop.set()
        self._thread.join()
        return self.parent / 2**20, self.tree / 2**20


class CpuAccount:
    """CPU seconds used by this process and all its descendants (cgroup v1 cpuacct).

    The machine is shared: wall times move with other people's load, CPU seconds much less.
    ``cpu_s / cores`` is the wall time the same work needs on an idle machine if the cores are
    kept busy. None where cgroup v1 cpuacct is not writable (not root, cgroup v2)."""

    ROOT = Path("/sys/fs/cgroup/cpuacct")

    def __init__(self) -> None:
        self.group: Path | None = self.ROOT / f"batch-bench-{os.getpid()}"
        try:
            self.group.mkdir(exist_ok=True)
            (self.group / "cgroup.procs").write_text(str(os.getpid()))
        except OSError:
            self.group = None

    def seconds(self) -> float | None:
        if self.group is None:
            return None
        return int((self.group / "cpuacct.usage").read_text()) / 1e9


CPU = CpuAccount()


def timed(cmd: list[str], *, env: dict[str, str] | None = None) -> dict[str, Any]:
    load = os.getloadavg()[0]
    cpu_before = CPU.seconds()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    peak = Peak(proc.pid)
    out, _ = proc.communicate()
    wall = time.perf_counter() - start
    parent_mb, tree_mb = peak.stop()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out.decode()[-3000:]}")
    cpu_after = CPU.seconds()
    cpu = None
    if cpu_after is not None and cpu_before is not None:
        cpu = round(cpu_after - cpu_before, 3)
    return {
        "wall_s": round(wall, 3),
        "cpu_s": cpu,
        "parent_peak_mb": round(parent_mb, 1),
        "tree_peak_mb": round(tree_mb, 1),
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


def grade_batch(
    assignment: Path, submissions: Path, out: Path, backend: str, jobs: int, *extra: str
) -> list[str]:
    grade = shutil.which("grade") or "grade"
    return [
        grade,
        "batch",
        str(assignment),
        str(submissions),
        "--out",
        str(out),
        "--backend",
        backend,
        "-j",
        str(jobs),
        *extra,
    ]


def per_submission(m: dict[str, Any], n: int) -> dict[str, Any]:
    """Wall time per submission, and CPU time per submission spread over the cores."""
    out = {"s_per_submission": round(m["wall_s"] / n, 3)}
    if m.get("cpu_s") is not None:
        out["cpu_s_per_submission"] = round(m["cpu_s"] / n, 3)
        out["idle_estimate_s_per_submission"] = round(m["cpu_s"] / n / (os.cpu_count() or 1), 3)
    return out


def record(results: Path, entry: dict[str, Any]) -> None:
    results.parent.mkdir(parents=True, exist_ok=True)
    entry = {"at": time.strftime("%Y-%m-%dT%H:%M:%S"), "cpus": os.cpu_count(), **entry}
    with results.open("a") as fh:
        fh.write(json.dumps(entry) + "\n")
    print(json.dumps(entry), flush=True)


# ---------------------------------------------------------------- class of gd_backprop
def variants() -> list[Path]:
    samples = ROOT / "student_submissions" / "gd_backprop"
    found = [ROOT / "reference_solutions" / "gd_backprop.ipynb"]
    found += [
        samples / v / "submission.ipynb"
        for v in VARIANTS
        if (samples / v / "submission.ipynb").is_file()
    ]
    return found


def class_plan(n: int) -> dict[str, Path]:
    """Student id → the notebook they hand in: mostly correct work, as in a real class."""
    pool = variants()
    weights = [pool[0]] * 3 + pool
    return {f"s{i + 1:04d}": weights[i % len(weights)] for i in range(n)}


def make_class(folder: Path, n: int) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for student, notebook in class_plan(n).items():
        shutil.copyfile(notebook, folder / f"{student}.ipynb")
    return folder


def bench_class(args: argparse.Namespace) -> None:
    assignment = ROOT / "assignments" / "gd_backprop"
    for n in args.sizes:
        work = Path(args.workdir) / f"class{n}"
        submissions = make_class(work / "submissions", n)
        out = work / "out"
        shutil.rmtree(out, ignore_errors=True)
        cmd = grade_batch(assignment, submissions, out, args.backend, args.jobs)
        cold = timed(cmd)
        record(
            args.results,
            {
                "bench": "class_cold",
                "assignment": "gd_backprop",
                "n": n,
                "backend": args.backend,
                "jobs": args.jobs,
                **cold,
                **per_submission(cold, n),
            },
        )
        cached = timed(cmd)
        record(
            args.results,
            {
                "bench": "class_cached",
                "assignment": "gd_backprop",
                "n": n,
                "backend": args.backend,
                "jobs": args.jobs,
                **cached,
            },
        )


# ---------------------------------------------------------------- anchor bench
def bench_anchor(args: argparse.Namespace) -> None:
    hw = anchor.load_hwdef(Path(args.anchor_bench))
    assignment = anchor.write_assignment(hw, Path(args.workdir) / "anchor_assignment")
    submissions = Path(args.workdir) / "anchor_exec"
    expected = anchor.write_submissions(hw, submissions)
    walls = []
    for r in range(1, args.rounds + 1):
        out = Path(args.workdir) / "anchor_out"
        shutil.rmtree(out, ignore_errors=True)
        m = timed(grade_batch(assignment, submissions, out, args.backend, args.jobs))
        rows = json.loads((out / "gradebook.json").read_text())["students"]
        got = {row["student"]: row["total"] for row in rows}
        wrong = {s: (got.get(s), e) for s, e in expected.items() if got.get(s) != e}
        record(
            args.results,
            {
                "bench": "anchor20",
                "backend": args.backend,
                "jobs": args.jobs,
                "round": r,
                **m,
                **per_submission(m, 20),
                "scores_wrong": wrong,
            },
        )
        walls.append(m["wall_s"] / 20)
    ours = statistics.median(walls)
    print(f"\nanchor bench, 20 submissions, s/submission (median of {args.rounds}):")
    print(f"  grade batch --backend {args.backend} -j {args.jobs} (measured now)   {ours:6.2f}")
    for label, value in BASELINE.items():
        print(
            f"  {label:52s} {value:6.2f}  (baseline measured earlier on this machine)"
            f"  → {value / ours:4.1f}x"
        )


# ---------------------------------------------------------------- nbclient floor
def bench_floor(args: argparse.Namespace) -> None:
    import nbformat
    from nbclient import NotebookClient

    assignment = ROOT / "assignments" / "gd_backprop"
    notebook = ROOT / "reference_solutions" / "gd_backprop.ipynb"
    work = Path(args.workdir) / "floor"
    submissions = work / "submissions"
    shutil.rmtree(work, ignore_errors=True)
    submissions.mkdir(parents=True)
    for i in range(args.count):
        shutil.copyfile(notebook, submissions / f"s{i + 1:03d}.ipynb")
    data = assignment / "data" / "public"
    start = time.perf_counter()
    for path in sorted(submissions.glob("*.ipynb")):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "data").symlink_to(data)
            nb = nbformat.read(path, as_version=4)
            NotebookClient(
                nb,
                timeout=600,
                kernel_name="python3",
                allow_errors=True,
                resources={"metadata": {"path": tmp}},
            ).execute()
    plain = (time.perf_counter() - start) / args.count
    ours = timed(grade_batch(assignment, submissions, work / "out", args.backend, 1))
    per = ours["wall_s"] / args.count
    record(
        args.results,
        {
            "bench": "floor_overhead",
            "n": args.count,
            "backend": args.backend,
            "plain_nbclient_s": round(plain, 3),
            "grade_batch_j1_s": round(per, 3),
            "overhead_s": round(per - plain, 3),
            **ours,
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", choices=["class", "anchor", "floor"])
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[50, 200])
    parser.add_argument("--backend", default="local", choices=["local", "docker"])
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--anchor-bench", default=str(anchor.DEFAULT_BENCH))
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "batch-bench"))
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    {"class": bench_class, "anchor": bench_anchor, "floor": bench_floor}[args.bench](args)


if __name__ == "__main__":
    main()
