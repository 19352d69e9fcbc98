"""`grade batch` with the Docker backend (the default for instructors): a small class with a
hostile submission, then a cached rerun; no container is left behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import build_class

from grader.batch.runner import BatchOptions, run_batch
from grader.errors import GraderError
from grader.report.build import build_reports
from grader.sandbox.choose import Backend
from grader.spec import Assignment

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def docker_ready() -> None:
    from grader.batch.runner import _docker_ready

    try:
        _docker_ready(gpu=False)
    except GraderError as exc:
        pytest.skip(f"Docker not usable here: {exc.message}")


def _orphans() -> set[str]:
    """Sandbox containers whose grading process is gone (others may be grading right now)."""
    import docker

    client = docker.from_env()
    found = client.containers.list(all=True, filters={"label": "dl-grader.sandbox"})
    return {c.id for c in found if not Path(f"/proc/{c.labels.get('dl-grader.pid', '0')}").exists()}


@pytest.mark.usefixtures("docker_ready")
def test_docker_batch_grades_caches_and_cleans_up(spec: Assignment, tmp_path: Path) -> None:
    root = build_class(
        tmp_path / "class",
        {
            "good.ipynb": "graded/full_marks",
            "exits.ipynb": "crashed/os_exit",
            "loop.ipynb": "timeout/infinite_loop_cell",
        },
    )
    for p in root.iterdir():
        os.utime(p, (1790000000, 1790000000))
    before = _orphans()
    out = tmp_path / "out"
    options = BatchOptions(backend=Backend.DOCKER, jobs=2)
    first = run_batch(spec, root, out=out, options=options)
    assert not first.grader_errors, first
    build_reports(out, histogram=False)
    rows = {
        r["student"]: (r["status"], r["total"])
        for r in json.loads((out / "gradebook.json").read_text())["students"]
    }
    assert rows == {"good": ("graded", 4.0), "exits": ("crashed", 0.0), "loop": ("timeout", 0.0)}
    assert run_batch(spec, root, out=out, options=options).cached == 3
    assert _orphans() <= before
