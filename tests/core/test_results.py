"""GradeResult: frozen, written atomically, re-validated when read back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from grader.core.results import (
    SCHEMA_VERSION,
    AnswerResult,
    CellError,
    ComponentScore,
    GradeResult,
    Outcome,
    Status,
    TestResult,
)


def sample() -> GradeResult:
    return GradeResult(
        assignment="tiny",
        assignment_version="1",
        submission="hw/tiny.ipynb",
        notebook_sha256="ab" * 32,
        status=Status.GRADED,
        message="graded",
        points=2.5,
        max_points=4,
        components=[ComponentScore(id="funcs", title="F", points=2.5, max_points=3)],
        tests=[
            TestResult(
                id="t::a",
                component="funcs",
                hidden=True,
                outcome=Outcome.PARTIAL,
                points=0.5,
                max_points=1,
                message="hint only",
                detail="R² = 0.41 on the hidden set",
            )
        ],
        answers=[
            AnswerResult(
                id="q1",
                prompt="Why?",
                text="так",
                answered=True,
                points=1,
                max_points=1,
                needs_review=True,
            )
        ],
        cell_errors=[CellError(index=3, ename="ValueError", evalue="bad", source_head="f()")],
        hidden_included=True,
    )


def test_round_trip(tmp_path: Path) -> None:
    result = sample()
    path = tmp_path / "result.json"
    result.write(path)
    assert GradeResult.read(path) == result
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temporary file left
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION


def test_overwrite_is_atomic_replace(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    sample().write(path)
    changed = sample().model_copy(update={"points": 0.0})
    changed.write(path)
    assert GradeResult.read(path).points == 0.0


def test_frozen() -> None:
    with pytest.raises(ValidationError):
        sample().points = 4  # type: ignore[misc]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d.update(unexpected=1),
        lambda d: d.update(status="excellent"),
        lambda d: d.update(points="lots"),
        lambda d: d["tests"][0].update(outcome="passed-ish"),
        lambda d: d.pop("assignment"),
    ],
)
def test_read_revalidates(tmp_path: Path, tamper: object) -> None:
    data = json.loads(sample().model_dump_json())
    tamper(data)  # type: ignore[operator]
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValidationError):
        GradeResult.read(path)


def test_students_copy_has_no_instructor_details() -> None:
    result = sample()
    shown = result.for_students()
    assert [t.detail for t in shown.tests] == [""] and "0.41" not in shown.model_dump_json()
    assert shown.tests[0].message == "hint only" and result.tests[0].detail  # a copy


def test_needs_review() -> None:
    assert sample().needs_review is True
    assert sample().model_copy(update={"answers": []}).needs_review is False


def test_status_values_are_stable() -> None:
    """Stored results and reports key on these strings."""
    assert {s.value for s in Status} >= {
        "graded",
        "timeout",
        "out_of_memory",
        "crashed",
        "invalid_notebook",
        "forbidden_import",
        "missing_names",
        "not_found",
        "grader_error",
    }
    assert {o.value for o in Outcome} == {"passed", "partial", "failed", "error", "skipped"}


def test_json_schema_describes_the_result() -> None:
    schema = GradeResult.model_json_schema()
    assert {"status", "points", "tests", "message"} <= set(schema["properties"])
    assert schema["properties"]["message"]["description"]
