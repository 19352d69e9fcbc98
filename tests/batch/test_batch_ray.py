"""`grade batch --engine ray` on a local Ray cluster: a head and two worker nodes, each its own
process group on 127.0.0.1 with a fake GPU. One worker node is killed mid-batch; every
submission is still graded, and its result written exactly once; a rerun grades nothing.

CI must have Ray (the ``ray`` extra): there the test fails rather than skips without it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from batch_classes import build_class, make_course

from grader.batch.cluster import ClusterOptions, slots
from grader.batch.localcluster import LocalCluster
from grader.core.spec import load_assignment
from grader.core.store import Store
from grader.sandbox.choose import Backend

if os.environ.get("CI", "").lower() not in {"1", "true", "yes"}:
    pytest.importorskip("ray", reason="the ray extra is not installed")

STUDENTS = 8
SLEEP = 3
"""Seconds each notebook sleeps, so that tasks are in flight when a node is killed."""
OLD = 1790000000
"""Each notebook's mtime: before the deadline of the fixture's late policy."""


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(workers=2, cpus=1, gpus=1) as running:
        yield running


def _course(root: Path) -> Path:
    assignment = make_course(root, cell_timeout=30, total_timeout=60)
    spec = assignment / "assignment.toml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("[resources]", '[resources]\ngpu = "optional"'), encoding="utf-8")
    return assignment


def _class(root: Path) -> Path:
    members = {f"s{i}.ipynb": "graded/full_marks" for i in range(STUDENTS)}
    folder = build_class(root, members)  # type: ignore[arg-type]
    for path in folder.iterdir():
        nb = nbformat.read(path, as_version=4)
        nb.cells.insert(0, nbformat.v4.new_code_cell(f"import time\ntime.sleep({SLEEP})"))
        nbformat.write(nb, path)
        os.utime(path, (OLD, OLD))
    return folder


def _grade(assignment: Path, root: Path, out: Path, address: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "grader.cli",
        "batch",
        str(assignment),
        str(root),
        "--out",
        str(out),
        "--backend",
        "local",
        "--engine",
        "ray",
        "--address",
        address,
        "--gpus",
        "all",
        "--per-gpu",
        "1",
    ]


def _finished(out: Path) -> dict[str, int]:
    return {
        p.parent.name: (p.parent / "result.json").stat().st_mtime_ns
        for p in out.glob("*/batch.json")
    }


def _log(out: Path) -> list[dict[str, object]]:
    log = out / ".batch" / "runs.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.mark.slow
def test_a_killed_node_costs_nothing_but_time(cluster: LocalCluster, tmp_path: Path) -> None:
    assignment, root = _course(tmp_path / "course"), _class(tmp_path / "class")
    out = tmp_path / "out"
    address = cluster.address
    log = (tmp_path / "batch.log").open("wb")
    batch = subprocess.Popen(_grade(assignment, root, out, address), stdout=log, stderr=log)
    deadline = time.monotonic() + 300
    while len(_finished(out)) < 2 and batch.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    cluster.kill(0)
    assert batch.wait(600) == 0, (tmp_path / "batch.log").read_text()
    students = [f"s{i}" for i in range(STUDENTS)]
    store = Store(out)
    assert store.students() == students
    results = {s: store.load(s) for s in students}
    points = {s: r.result.points if r else None for s, r in results.items()}
    assert points == dict.fromkeys(students, 4.0)
    entries = _log(out)
    written = [str(e["student"]) for e in entries if e["outcome"] != "retry"]
    assert sorted(written) == students, "each result is written exactly once"
    retried = [e for e in entries if e["outcome"] == "retry"]
    assert retried, "the killed node had a task in flight, sent again to the other node"
    assert all("task lost" in str(e["message"]) for e in retried)
    assert len({e["student"] for e in retried}) == len(retried), "each regraded once"

    before = _finished(out)
    rerun = subprocess.run(
        _grade(assignment, root, out, address), capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"{STUDENTS} cached" in rerun.stdout
    assert _finished(out) == before, "a rerun regrades nothing"


@pytest.mark.slow
def test_doctor_checks_every_node(cluster: LocalCluster) -> None:
    address = cluster.address
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "doctor",
            "--engine",
            "ray",
            "--address",
            address,
            "--backend",
            "local",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    alive = 1 + sum(1 for n in cluster.nodes[1:] if n.poll() is None)
    assert f"{alive} node(s) checked" in done.stdout
    assert done.stdout.count("Grader version") == alive


def test_slots_pack_submissions_by_cpu_memory_and_gpu(tmp_path: Path) -> None:
    spec = load_assignment(_course(tmp_path / "course"))  # 1 CPU and 1024 MiB a submission
    ray = SimpleNamespace(
        cluster_resources=lambda: {"CPU": 16.0, "GPU": 2.0, "memory": 64.0 * 2**30}
    )
    cpu_only = ClusterOptions(address="x", backend=Backend.LOCAL, hidden=True)
    assert slots(ray, spec, cpu_only) == 16
    packed = ClusterOptions(address="x", backend=Backend.LOCAL, hidden=True, gpus=True, per_gpu=3)
    assert slots(ray, spec, packed) == 6
    small = SimpleNamespace(cluster_resources=lambda: {"CPU": 16.0, "memory": 3.5 * 2**30})
    assert slots(small, spec, cpu_only) == 3
