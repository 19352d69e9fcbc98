"""`grade batch` with the Docker backend (the default for instructors): a small class with a
hostile submission, then a cached rerun; no container is left behind. The crash and time-out
verdicts also hold when the engine reports a container's end late, as it does under load."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from grader.batch.runner import BatchOptions, run_batch
from grader.core.results import Status
from grader.core.spec import Assignment
from grader.pipeline.grading import Options, grade_submission
from grader.report.build import build_reports
from grader.sandbox.choose import Backend

pytestmark = [pytest.mark.docker, pytest.mark.slow]
NOTEBOOKS = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks"
"""Not ``from batch_classes import ...``: run together with tests/sandbox, that name is theirs."""


@pytest.fixture
def docker_ready(docker_engine: object) -> None:
    """The engine and the runtime image (skipped without them; a failure in CI)."""


def _orphans() -> set[str]:
    """Sandbox containers whose grading process is gone (others may be grading right now)."""
    import docker

    client = docker.from_env()
    found = client.containers.list(all=True, filters={"label": "dl-grader.sandbox"})
    return {c.id for c in found if not Path(f"/proc/{c.labels.get('dl-grader.pid', '0')}").exists()}


@pytest.mark.usefixtures("docker_ready")
def test_docker_batch_grades_caches_and_cleans_up(
    spec: Assignment, make_class: Any, tmp_path: Path
) -> None:
    root = make_class(
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


@pytest.mark.usefixtures("docker_ready")
def test_crash_and_timeout_verdicts_hold_when_the_engine_is_slow(
    spec: Assignment, tmp_path: Path
) -> None:
    """The pair that once flipped under load: `docker wait` (the kernel's liveness as
    jupyter_client sees it) returns 5 s after the container ends, as a busy dockerd makes it.
    With a 2 s cell limit, os._exit must still be a crash and the endless loop a time-out."""
    from grader.sandbox.docker import DockerSandbox

    real = shutil.which("docker")
    assert real is not None
    late = tmp_path / "late-docker"
    late.write_text(f'#!/bin/sh\n"{real}" "$@"; rc=$?\n[ "$1" = wait ] && sleep 5\nexit $rc\n')
    late.chmod(0o755)
    options = Options(sandbox=DockerSandbox(docker_cli=str(late)))
    assert spec.resources.cell_timeout == 2
    for rel, status in [
        ("crashed/os_exit", Status.CRASHED),
        ("timeout/infinite_loop_cell", Status.TIMEOUT),
    ]:
        result = grade_submission(spec, NOTEBOOKS / f"{rel}.ipynb", options=options)
        assert result.status is status, (rel, result.message)
