"""The worker pool with stand-in workers: dead and stuck workers cost only their own
submission, orphaned kernels are killed, GPU slots are respected, a broken sandbox aborts."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import batch_fake_workers
import pytest

from grader.batch import pool
from grader.batch.events import Event, Finished, Outcome, Planned
from grader.batch.runner import BatchOptions, run_batch
from grader.batch.store import Store
from grader.results import Status
from grader.sandbox.choose import Backend
from grader.spec import Assignment, load_assignment


@pytest.fixture(autouse=True)
def fake_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool, "serve", batch_fake_workers.serve)


def _class(folder: Path, *students: str) -> Path:
    folder.mkdir()
    for s in students:
        (folder / f"{s}.ipynb").write_text("{}")
    return folder


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_dead_and_stuck_workers_cost_only_their_submission(
    spec: Assignment, tmp_path: Path
) -> None:
    root = _class(tmp_path / "class", "ok1", "crash", "flaky", "hang", "ok2")
    events: list[Event] = []
    summary = run_batch(
        spec,
        root,
        out=tmp_path / "out",
        on_event=events.append,
        options=BatchOptions(backend=Backend.LOCAL, jobs=2, hard_timeout=3),
    )
    store = Store(tmp_path / "out")
    status = {s.student: s.result.status for s in store.results()}
    assert status == {
        "ok1": Status.GRADED,
        "ok2": Status.GRADED,
        "flaky": Status.GRADED,
        "crash": Status.GRADER_ERROR,
        "hang": Status.GRADER_ERROR,
    }
    assert "died twice" in store.load("crash").result.message  # type: ignore[union-attr]
    assert "longer than 3 s" in store.load("hang").result.message  # type: ignore[union-attr]
    assert sorted(summary.grader_errors) == ["crash", "hang"]
    finished = [e.student for e in events if isinstance(e, Finished)]
    assert sorted(finished) == ["crash", "flaky", "hang", "ok1", "ok2"]  # each exactly once
    kernel = int((tmp_path / "out" / "hang.pid").read_text())
    assert not _alive(kernel), "the stuck worker's kernel survived"


def test_grader_errors_are_retried_on_the_next_run(spec: Assignment, tmp_path: Path) -> None:
    root = _class(tmp_path / "class", "error1", "ok")
    options = BatchOptions(backend=Backend.LOCAL, jobs=1)
    first = run_batch(spec, root, out=tmp_path / "out", options=options)
    assert first.grader_errors == ["error1"]
    events: list[Event] = []
    run_batch(spec, root, out=tmp_path / "out", options=options, on_event=events.append)
    assert next(e for e in events if isinstance(e, Planned)).cached == 1
    assert [
        e.student for e in events if isinstance(e, Finished) and e.outcome is not Outcome.CACHED
    ] == ["error1"]


def test_a_batch_that_only_fails_stops_early(spec: Assignment, tmp_path: Path) -> None:
    root = _class(tmp_path / "class", *[f"error{i}" for i in range(8)])
    summary = run_batch(
        spec, root, out=tmp_path / "out", options=BatchOptions(backend=Backend.LOCAL, jobs=1)
    )
    assert "fake failure" in summary.aborted
    assert len(summary.grader_errors) == 3 and len(summary.not_finished) == 5


def test_gpus_are_handed_out_k_at_a_time(tmp_path: Path, spec: Assignment) -> None:
    toml = spec.root / "assignment.toml"
    toml.write_text(toml.read_text().replace("[resources]", '[resources]\ngpu = "optional"'))
    gpu_spec = load_assignment(spec.root)
    root = _class(tmp_path / "class", *[f"s{i}" for i in range(8)])
    out = tmp_path / "out"
    run_batch(
        gpu_spec,
        root,
        out=out,
        options=BatchOptions(backend=Backend.LOCAL, jobs=4, gpus=("0", "1"), per_gpu=1),
    )
    jobs = [json.loads(line) for line in (out / "jobs.log").read_text().splitlines()]
    assert len(jobs) == 8 and {gpu for _, gpu, *_ in jobs} == {"0", "1"}
    for gpu in ("0", "1"):
        spans = sorted((start, end) for _, g, start, end, _ in jobs if g == gpu)
        assert all(a[1] <= b[0] + 0.05 for a, b in itertools.pairwise(spans)), (
            f"two submissions shared GPU {gpu}"
        )


def test_no_gpu_for_specs_without_gpu(spec: Assignment, tmp_path: Path) -> None:
    root = _class(tmp_path / "class", "a", "b")
    out = tmp_path / "out"
    run_batch(spec, root, out=out, options=BatchOptions(backend=Backend.LOCAL, jobs=2, gpus=("0",)))
    assert {gpu for _, gpu, *_ in map(json.loads, (out / "jobs.log").read_text().splitlines())} == {
        None
    }
    assert os.path.exists(out / "a" / "result.json")


def test_what_changed_is_regraded_and_force_regrades_all(spec: Assignment, tmp_path: Path) -> None:
    root, out = _class(tmp_path / "class", "a", "b"), tmp_path / "out"
    options = BatchOptions(backend=Backend.LOCAL, jobs=2)

    def run(**changes: object) -> tuple[int, int]:
        opts = BatchOptions(**{**options.__dict__, **changes})  # type: ignore[arg-type]
        summary = run_batch(spec, root, out=out, options=opts)
        return summary.graded, summary.cached

    assert run() == (2, 0)
    assert run() == (0, 2)
    assert run(force=True) == (2, 0)
    test = spec.root / "tests" / "public" / "test_square.py"
    test.write_text(test.read_text() + "\n# a fixed test\n")
    assert run() == (2, 0)
    (spec.root / "data" / "public" / "numbers.csv").write_text("4,5,6\n")
    assert run() == (2, 0)
    (root / "b.ipynb").write_text('{"changed": true}')
    (root / "c.ipynb").write_text("{}")
    assert run() == (2, 1)
    assert run(hidden=False) == (3, 0)
    log = [
        json.loads(line)["student"]
        for line in (out / ".batch" / "runs.jsonl").read_text().splitlines()
    ]
    assert log.count("c") == 2 and log.count("a") == 5


def test_a_worker_over_its_memory_limit_costs_only_its_submission(
    spec: Assignment, tmp_path: Path
) -> None:
    """A worker whose host-side work grows without bound is killed near the limit; its
    submission is kept as a grader error (not regraded by the next run), the rest is graded."""
    root = _class(tmp_path / "class", "ok1", "balloon", "ok2")
    options = BatchOptions(backend=Backend.LOCAL, jobs=2, worker_memory_mb=400)
    summary = run_batch(spec, root, out=tmp_path / "out", options=options)
    store = Store(tmp_path / "out")
    stored = store.load("balloon")
    assert stored is not None and stored.record is not None and stored.record.sticky
    assert stored.result.status is Status.GRADER_ERROR
    assert "more than 400 MiB" in stored.result.message
    assert summary.grader_errors == ["balloon"] and summary.graded == 2
    rerun = run_batch(spec, root, out=tmp_path / "out", options=options)
    assert rerun.cached == 3 and rerun.graded == 0
