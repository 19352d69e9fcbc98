"""The Ray scheduler's own cost per submission, with a fake sandbox: nothing is graded.

    python benchmarks/scheduler_overhead.py --tasks 1000,10000 [--slots 16]

A local cluster (head + two worker nodes, ``--slots`` CPUs between them: Ray only counts them)
runs the real driver, ``grader.batch.cluster.RayScheduler``: the same windowing, the same task
options, the same submission packing and the same store, writing every result into one output
folder. Only the task is a fake: it returns a result of the size a real gd_backprop result has,
at once. What is left is the engine's overhead: driver CPU, wall time per task, the driver's
peak memory (over its life so far: flat means nothing grows) and the store's size, side by side
for each class size (after a warm-up, so that the nodes' Ray workers are running). Appended
to benchmarks/results/scheduler_overhead.jsonl.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.batch.cluster import ClusterOptions, RayScheduler, connect  # noqa: E402
from grader.batch.localcluster import LocalCluster  # noqa: E402
from grader.batch.messages import Done, Job  # noqa: E402
from grader.batch.node import NodeDone  # noqa: E402
from grader.batch.scheduler import Hooks, Limits  # noqa: E402
from grader.core.results import GradeResult, Status, TestResult  # noqa: E402
from grader.core.spec import load_assignment  # noqa: E402
from grader.core.store import Store  # noqa: E402
from grader.sandbox.choose import Backend  # noqa: E402

ASSIGNMENT = ROOT / "assignments" / "gd_backprop"
RESULTS = ROOT / "benchmarks" / "results" / "scheduler_overhead.jsonl"


def canned(tests: int = 20) -> str:
    """A full-marks result with ``tests`` tests: about a real gd_backprop result's size."""
    result = GradeResult(
        assignment="gd_backprop",
        assignment_version="bench",
        submission="submission.ipynb",
        status=Status.GRADED,
        message="graded",
        points=5.0,
        max_points=5.0,
        tests=[
            TestResult.model_validate(
                {
                    "id": f"test_{i}.py::test_{i}",
                    "component": "tests",
                    "hidden": i % 2 == 0,
                    "outcome": "passed",
                    "points": 0.25,
                    "max_points": 0.25,
                }
            )
            for i in range(tests)
        ],
    )
    return result.model_dump_json()


RESULT = canned()


def fake_task(job: Job, shipped: Any, *rest: Any) -> NodeDone:
    """Stands in for ``cluster._grade_task``: a graded result, at once."""
    done = Done(job.student, Status.GRADED, 5.0, 5.0, 0.0)
    return NodeDone(done, RESULT, "bench")


class FakeGrading(RayScheduler):
    def _remote(self, ray: Any) -> Any:
        return ray.remote(fake_task).options(num_cpus=1, max_retries=0)


def run(n: int, address: str, work: Path) -> dict[str, Any]:
    spec = load_assignment(ASSIGNMENT)
    store = Store(work / f"out{n}")
    source = work / "submission.ipynb"
    source.write_bytes((ROOT / "reference_solutions" / "gd_backprop.ipynb").read_bytes())
    jobs = [Job(f"s{i:05d}", source, key="k") for i in range(n)]
    finished: list[str] = []
    hooks = Hooks(
        finished=lambda job, done, slot: finished.append(job.student),
        fail=lambda job, why, seconds: Done(job.student, Status.GRADER_ERROR, 0, 0, seconds),
        retried=lambda job, reason: None,
        emit=lambda event: None,
    )
    options = ClusterOptions(address=address, backend=Backend.LOCAL, hidden=True)
    scheduler = FakeGrading(
        spec, cluster=options, limits=Limits(600, 2048), hooks=hooks, store=store
    )
    cpu, start = time.process_time(), time.perf_counter()
    scheduler.run(jobs)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert sorted(finished) == [j.student for j in jobs], "every task once"
    return {
        "bench": "scheduler_overhead",
        "tasks": n,
        "wall_s": round(wall, 2),
        "ms_per_task": round(1000 * wall / n, 2),
        "driver_cpu_ms_per_task": round(1000 * cpu / n, 2),
        "driver_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "store_mb": round(sum(f.stat().st_size for f in (work / f"out{n}").rglob("*")) / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=lambda s: [int(x) for x in s.split(",")], default=[1000])
    parser.add_argument("--slots", type=int, default=16)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    rows = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalCluster(workers=2, cpus=args.slots // 2) as cluster,
    ):
        connect(cluster.address)
        run(4 * args.slots, cluster.address, Path(tmp))  # the nodes start their Ray workers
        for n in args.tasks:
            rows.append(run(n, cluster.address, Path(tmp)))
            print(json.dumps(rows[-1]), flush=True)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    with args.results.open("a") as fh:
        fh.writelines(json.dumps({"at": time.strftime("%FT%T"), **r}) + "\n" for r in rows)
    head = ("tasks", "ms/task", "driver CPU ms/task", "peak RSS MB", "store MB")
    print("\n" + " ".join(f"{h:>{w}}" for h, w in zip(head, (6, 8, 19, 12, 9), strict=True)))
    for r in rows:
        print(
            f"{r['tasks']:>6} {r['ms_per_task']:8.2f} {r['driver_cpu_ms_per_task']:19.2f} "
            f"{r['driver_peak_rss_mb']:12} {r['store_mb']:9.1f}"
        )


if __name__ == "__main__":
    main()
