"""The gd_backprop assignment as shipped: validate passes, check shows full public marks."""

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.batch.many import in_parallel
from grader.cli import app
from grader.core.spec import find_assignment
from grader.course.validate import validate_assignment
from grader.pipeline.grading import Options
from grader.sandbox.choose import Backend
from grader.sandbox.local import LocalSandbox

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _course(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_COURSE", str(ROOT))


def test_validate_gd_backprop_passes() -> None:
    spec = find_assignment("gd_backprop", ROOT / "assignments")
    checks = validate_assignment(
        spec,
        course=ROOT,
        options=Options(sandbox=LocalSandbox()),
        grade_many=in_parallel(Backend.LOCAL, jobs=2),
    )
    failed = [(c.name, c.detail) for c in checks if not c.ok]
    assert not failed
    names = {c.name for c in checks}
    assert {"sample 'correct'", "sample 'infinite_loop'", "sample 'invalid_json'"} <= names


def test_check_reference_shows_full_public_marks() -> None:
    result = CliRunner().invoke(
        app, ["check", str(ROOT / "reference_solutions" / "gd_backprop.ipynb"), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    public = [t for t in data["tests"] if not t["hidden"]]
    assert public and all(t["outcome"] == "passed" for t in public)
    assert data["hidden_not_run"] > 0 and not data["hidden_included"]


@pytest.mark.docker
def test_validate_gd_backprop_passes_under_docker() -> None:
    from grader.core.errors import SandboxError
    from grader.sandbox.choose import make_sandbox
    from grader.sandbox.docker import connect

    try:
        connect(timeout=10).close()
        sandbox = make_sandbox(Backend.DOCKER)
        spec = find_assignment("gd_backprop", ROOT / "assignments")
        checks = validate_assignment(
            spec,
            course=ROOT,
            options=Options(sandbox=sandbox),
            grade_many=in_parallel(Backend.DOCKER, jobs=2),
        )
    except SandboxError as exc:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            raise
        pytest.skip(f"no Docker engine or runtime image: {exc}")
    assert [(c.name, c.detail) for c in checks if not c.ok] == []
