"""Submissions that stalled a batch (issue #11) and the bounds that now hold for any stall.

A class of honest submissions plus the ones that stalled every worker (a link to /dev/zero, a
FIFO, a written answer of 60,000 ``<!--``, zips of 60,000 files or 1,500 folders, a link to the
reference) is graded with the honest ones in their normal time. A job that overruns its deadline
is killed with whatever it started and kept as a grader error, which a rerun does not repeat
unless asked (``--retry-errors``, ``--only``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from batch_classes import build_class, fixture_nb

from grader.batch.runner import BatchOptions, BatchSummary, run_batch
from grader.core.results import Status
from grader.core.spec import Assignment
from grader.core.store import Store
from grader.sandbox.choose import Backend

pytestmark = pytest.mark.slow
HONEST = {f"honest{i}.ipynb": "graded/full_marks" for i in range(4)}


def _stallers(root: Path) -> dict[str, str]:
    """The stalling submissions, added to ``root``; student → the verdict each must get."""
    full = fixture_nb("graded/full_marks")
    (root / "zero.ipynb").symlink_to("/dev/zero")
    (root / "copied.ipynb").symlink_to(full)  # "my" notebook is the reference
    os.mkfifo(root / "fifo.ipynb")
    (root / "folder").mkdir()
    (root / "folder" / "tiny.ipynb").symlink_to("/dev/zero")
    nb = nbformat.read(full, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "Ответ q1" in cell.source:
            cell.source = "**Ответ q1:** " + "<!--" * 60_000
    nbformat.write(nb, root / "flood.ipynb")
    with zipfile.ZipFile(root / "many.zip", "w") as zf:
        for i in range(60_000):
            zf.writestr(f"f{i}.txt", b"")
        zf.write(full, "tiny.ipynb")
    with zipfile.ZipFile(root / "deep.zip", "w") as zf:
        zf.writestr("d/" * 1500 + "f.txt", b"")
        zf.write(full, "tiny.ipynb")
    return {
        "zero": "invalid_notebook",
        "copied": "invalid_notebook",
        "fifo": "invalid_notebook",
        "folder": "invalid_notebook",
        "flood": "graded",  # the answer is empty once its comments are stripped: 3 of 4
        "many": "invalid_notebook",
        "deep": "invalid_notebook",
    }


JOB_LIMIT = 12
"""The job deadline of these tests: an honest job takes a few seconds, the slow one 15 s."""
BEFORE_DEADLINE = 1790000000  # the fixture course has a late policy


def _batch(spec: Assignment, root: Path, out: Path, **options: object) -> BatchSummary:
    for path in [root, *root.rglob("*")]:
        os.utime(path, (BEFORE_DEADLINE, BEFORE_DEADLINE), follow_symlinks=False)
    opts = BatchOptions(backend=Backend.LOCAL, jobs=2, **options)  # type: ignore[arg-type]
    return run_batch(spec, root, out=out, options=opts)


def _seconds(out: Path, students: list[str]) -> dict[str, float]:
    return {s: json.loads((out / s / "batch.json").read_text())["seconds"] for s in students}


def test_honest_submissions_keep_their_normal_time_beside_the_stalling_ones(
    spec: Assignment, tmp_path: Path
) -> None:
    honest = build_class(tmp_path / "honest", HONEST)  # type: ignore[arg-type]
    started = time.monotonic()
    _batch(spec, honest, tmp_path / "out-honest")
    alone = time.monotonic() - started
    normal = max(_seconds(tmp_path / "out-honest", [p.stem for p in honest.iterdir()]).values())

    mixed = build_class(tmp_path / "mixed", HONEST)  # type: ignore[arg-type]
    verdicts = _stallers(mixed)
    started = time.monotonic()
    summary = _batch(spec, mixed, tmp_path / "out-mixed")
    together = time.monotonic() - started

    results = {s.student: s.result for s in Store(tmp_path / "out-mixed").results()}
    for student, status in verdicts.items():
        assert results[student].status.value == status, (student, results[student].message)
    assert "symbolic link" in results["copied"].message and results["copied"].points == 0
    honest_ids = [p.stem for p in honest.iterdir()]
    assert all(results[s].points == 4.0 for s in honest_ids)
    assert summary.grader_errors == [] and summary.not_finished == []
    # each honest submission takes about what it takes alone; the stallers cost seconds
    for student, seconds in _seconds(tmp_path / "out-mixed", honest_ids).items():
        assert seconds < 3 * normal + 10, (student, seconds, normal)
    assert together < 2 * alone + 60, (together, alone)


def _slow_nb(path: Path) -> Path:
    """Honest code, then ten cells of 1.5 s each: within every limit of the notebook, but longer
    than the batch's job deadline in the tests below."""
    nb = nbformat.read(fixture_nb("graded/full_marks"), as_version=4)
    nb.cells += [nbformat.v4.new_code_cell("import time\ntime.sleep(1.5)") for _ in range(10)]
    nbformat.write(nb, path)
    return path


def test_an_overrun_is_stopped_at_once_and_kept_as_a_grader_error(
    spec: Assignment, tmp_path: Path
) -> None:
    root = build_class(tmp_path / "class", {"ok.ipynb": "graded/full_marks"})
    _slow_nb(root / "slow.ipynb")
    out = tmp_path / "out"
    started = time.monotonic()
    first = _batch(spec, root, out, hard_timeout=JOB_LIMIT)
    assert time.monotonic() - started < 60
    stored = Store(out).load("slow")
    assert stored is not None and stored.record is not None
    assert stored.result.status is Status.GRADER_ERROR and stored.record.sticky
    assert f"longer than {JOB_LIMIT} s" in stored.result.message
    assert "--retry-errors" in stored.result.message
    assert first.grader_errors == ["slow"]

    again = _batch(spec, root, out, hard_timeout=JOB_LIMIT)  # the stall is not repeated
    assert again.cached == 2 and again.graded == again.failed == 0
    assert again.grader_errors == ["slow"]

    retried = _batch(spec, root, out, retry_errors=True)  # asked to: graded now
    assert retried.graded == 1 and retried.cached == 1
    assert Store(out).load("slow").result.status is Status.GRADED  # type: ignore[union-attr]


def test_workers_leave_no_scratch_folder(spec: Assignment, tmp_path: Path) -> None:
    """Each worker works in its own temporary folder, removed when it ends (killed or not)."""
    before = set(Path("/tmp").glob("dl-grader-w*"))
    root = build_class(tmp_path / "class", {"ok.ipynb": "graded/full_marks"})
    _slow_nb(root / "slow.ipynb")
    _batch(spec, root, tmp_path / "out", hard_timeout=JOB_LIMIT)
    assert set(Path("/tmp").glob("dl-grader-w*")) - before == set()
    shutil.rmtree(tmp_path / "out")


@pytest.mark.docker
def test_an_overrun_removes_its_container_at_once(
    spec: Assignment, tmp_path: Path, docker_engine: object
) -> None:
    """The killed worker cannot remove its container; the batch does, before it goes on (it
    used to live for the container's one-hour lifetime)."""
    import docker

    root = tmp_path / "class"
    root.mkdir()
    _slow_nb(root / "slow.ipynb")
    for path in [root, *root.rglob("*")]:
        os.utime(path, (BEFORE_DEADLINE, BEFORE_DEADLINE))
    options = BatchOptions(backend=Backend.DOCKER, jobs=1, hard_timeout=JOB_LIMIT)
    summary = run_batch(spec, root, out=tmp_path / "out", options=options)
    assert summary.grader_errors == ["slow"]
    client = docker.from_env()
    mine = client.containers.list(
        all=True, filters={"label": ["dl-grader.sandbox", "dl-grader.submission=slow"]}
    )
    dead_owner = [c.name for c in mine if not Path(f"/proc/{c.labels['dl-grader.pid']}").exists()]
    assert dead_owner == []
