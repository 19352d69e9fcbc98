"""Reports rendered from stored results only: gradebook CSV/JSON, feedback, Gradescope, JUnit,
summary, histogram, and `grade report OUT`. Results are built by hand (no kernels)."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.core.results import (
    AnswerResult,
    CellError,
    ComponentScore,
    GradeResult,
    Outcome,
    Status,
    TestResult,
)
from grader.core.spec import Assignment, Component, LatePolicy, Question
from grader.core.store import ARTIFACTS, BatchInfo, Record, Store
from grader.report.build import build_reports
from grader.report.summary import render_summary

MSK = timezone(timedelta(hours=3))
DEADLINE = datetime(2026, 10, 1, 23, 59, tzinfo=MSK)
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


def spec(tmp_path: Path) -> Assignment:
    return Assignment(
        id="tiny",
        title="Tiny <HW>",
        notebook="tiny.ipynb",
        root=tmp_path,
        late=LatePolicy(deadline=DEADLINE, penalty=0.25, max_penalty=0.5),
        components=[
            Component(id="funcs", title="Functions", points=3),
            Component(id="answers", title="Answers", points=1, kind="answers"),
        ],
        questions=[Question(id="q1", prompt="Why?", points=1)],
    )


def a_test(
    name: str,
    outcome: Outcome,
    points: float,
    *,
    hidden: bool = False,
    message: str = "",
    detail: str = "",
) -> TestResult:
    folder = "hidden" if hidden else "public"
    return TestResult(
        id=f"tests/{folder}/test_square.py::{name}",
        component="funcs",
        hidden=hidden,
        outcome=outcome,
        points=points,
        max_points=1.0,
        message=message,
        detail=detail,
    )


def graded(
    points: float,
    *,
    late_penalty: float = 0.0,
    answer: str = "because it grows",
    tests: list[TestResult] | None = None,
    artifacts: list[str] | None = None,
) -> GradeResult:
    tests = (
        tests
        if tests is not None
        else [
            a_test("test_square_of_two", Outcome.PASSED, 1),
            a_test(
                "test_square_array",
                Outcome.FAILED,
                0,
                message='=HYPERLINK("x") <b>bold</b>\nsquare must work on arrays',
            ),
            a_test(
                "test_counter",
                Outcome.FAILED,
                0,
                hidden=True,
                message="Counter.add must return the running total",
                detail="assert 41.97 == 42 (a hidden value)",
            ),
        ]
    )
    return GradeResult(
        assignment="tiny",
        assignment_version="1",
        submission="x.ipynb",
        status=Status.GRADED,
        message="graded",
        points=points,
        max_points=4,
        late_penalty=late_penalty,
        components=[
            ComponentScore(id="funcs", title="Functions", points=points - 1, max_points=3),
            ComponentScore(id="answers", title="Answers", points=1, max_points=1),
        ],
        tests=tests,
        answers=[
            AnswerResult(
                id="q1",
                prompt="Why?",
                text=answer,
                answered=True,
                points=1,
                max_points=1,
                needs_review=True,
            )
        ],
        cell_errors=[
            CellError(
                index=2,
                ename="ValueError",
                evalue="bad \x07 <i>shape</i>",
                source_head="x = f(\n```",
            )
        ],
        artifacts=artifacts or [],
    )


def refused(status: Status, message: str) -> GradeResult:
    return GradeResult(
        assignment="tiny",
        assignment_version="1",
        submission="y",
        status=status,
        message=message,
        max_points=4,
    )


@pytest.fixture
def out(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    store = Store(out)
    store.save_info(BatchInfo.of(spec(tmp_path)))
    on_time, late = DEADLINE - timedelta(hours=2), DEADLINE + timedelta(hours=30)
    cases = {
        "ivanov": (graded(2.0, artifacts=["loss.png"]), on_time),
        "=petrov": (graded(1.0, late_penalty=1.0), late),
        "sidorov": (refused(Status.TIMEOUT, "cell 2 ('while True:') ran past 10 s"), on_time),
        "kuznetsov": (refused(Status.DUPLICATE, "2 submissions for this student"), None),
    }
    for student, (result, when) in cases.items():
        store.save(
            student,
            result,
            Record(student=student, key="k", submitted_at=when, graded_at=datetime.now(UTC)),
        )
    (out / "ivanov" / ARTIFACTS).mkdir()
    (out / "ivanov" / ARTIFACTS / "loss.png").write_bytes(PNG)
    (out / "broken").mkdir()
    (out / "broken" / "result.json").write_text('{"truncated": ')
    return out


def test_gradebook_csv_rows_columns_and_formula_safety(out: Path) -> None:
    reports = build_reports(out, histogram=False)
    assert reports.unreadable == ["broken"]
    text = (out / "gradebook.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    by = {r["student"]: r for r in rows}
    assert set(by) == {"ivanov", "'=petrov", "sidorov", "kuznetsov"}
    assert list(rows[0])[:8] == [
        "student",
        "status",
        "total",
        "max",
        "late_penalty",
        "late_hours",
        "submitted_at",
        "submitted_from",
    ]
    assert by["ivanov"]["funcs (3)"] == "1" and by["ivanov"]["review_needed"] == "yes"
    assert by["'=petrov"]["late_penalty"] == "1" and by["'=petrov"]["late_hours"] == "30"
    assert by["sidorov"]["status"] == "timeout" and by["sidorov"]["total"] == "0"
    assert by["kuznetsov"]["status"] == "duplicate"


def test_gradebook_json(out: Path) -> None:
    build_reports(out, histogram=False)
    data = json.loads((out / "gradebook.json").read_text())
    assert data["assignment"]["id"] == "tiny" and data["assignment"]["max_points"] == 4
    assert [c["id"] for c in data["assignment"]["components"]] == ["funcs", "answers"]
    ivanov = next(s for s in data["students"] if s["student"] == "ivanov")
    assert ivanov["components"] == {"funcs": 1.0, "answers": 1.0}
    assert ivanov["tests_passed"] == 1 and ivanov["tests_total"] == 3


def test_feedback_markdown_and_html(out: Path) -> None:
    build_reports(out, histogram=False)
    md = (out / "ivanov" / "feedback.md").read_text()
    assert "**Score: 2 / 4**" in md
    assert "`test_square::test_counter (hidden)` (0 / 1)" in md
    assert "Counter.add must return the running total" in md
    assert "41.97" not in md  # the instructor's detail of a hidden test
    assert "![loss.png](artifacts/loss.png)" in md
    assert "awaits review" in md and "because it grows" in md
    assert "Submitted 2026-10-01T21:59+03:00, before the deadline" in md
    page = (out / "ivanov" / "feedback.html").read_text()
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "<i>shape</i>" not in page and "Tiny &lt;HW&gt;" in page
    assert "41.97" not in page
    assert "data:image/png;base64," in page
    late = (out / "=petrov" / "feedback.md").read_text()
    assert "30 h after the deadline" in late and "late penalty −1 points" in late
    assert "timeout" in (out / "sidorov" / "feedback.md").read_text()


def test_console_shows_whole_hints_and_the_instructors_detail() -> None:
    from rich.console import Console

    from grader.report.console import render

    hint = "check the step: " + "the gradient of every layer, " * 20 + "END OF HINT [bold]"
    result = graded(
        1.0,
        tests=[
            a_test("test_step", Outcome.FAILED, 0, hidden=True, message=hint, detail="c = 0.3"),
            a_test("test_shape", Outcome.FAILED, 0, message="predict: shape (3, 3)"),
        ],
    )
    console = Console(record=True, width=100)
    render(result, console)
    text = " ".join(console.export_text().split())
    assert "END OF HINT [bold]" in text  # never cut, and printed as text, not markup
    assert "[instructor] c = 0.3" in text


def test_gradescope_results_follow_the_schema(out: Path) -> None:
    build_reports(out, histogram=False)
    data = json.loads((out / "ivanov" / "gradescope" / "results.json").read_text())
    assert data["score"] == 2.0
    assert set(data) >= {"score", "output", "tests"}
    for t in data["tests"]:
        assert set(t) == {"name", "score", "max_score", "output", "visibility"}
        assert t["visibility"] in {"visible", "hidden", "after_due_date", "after_published"}
    hidden = next(t for t in data["tests"] if "hidden" in t["name"])
    assert hidden["visibility"] == "after_published"
    assert hidden["output"] == "Counter.add must return the running total"
    assert any(t["name"] == "Written answer q1" for t in data["tests"])
    late = json.loads((out / "=petrov" / "gradescope" / "results.json").read_text())
    assert "Late penalty: -1 points" in late["output"]


def test_junit_xml_parses_and_counts(out: Path) -> None:
    build_reports(out, histogram=False)
    root = ET.parse(out / "junit.xml").getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"ivanov", "=petrov", "sidorov", "kuznetsov"}
    ivanov = suites["ivanov"]
    assert ivanov.get("tests") == "4" and ivanov.get("failures") == "2"
    names = [c.get("name") for c in ivanov.iter("testcase")]
    assert names == [
        "test_square_of_two",
        "test_square_array",
        "test_counter (hidden)",
        "answer q1",
    ]
    sidorov = suites["sidorov"]
    error = sidorov.find("testcase/error")
    assert error is not None and error.get("type") == "timeout"
    assert root.get("tests") == str(sum(int(s.get("tests") or 0) for s in suites.values()))


def test_summary_and_histogram(out: Path) -> None:
    reports = build_reports(out)
    stats = reports.stats
    assert stats.count == 4 and stats.statuses["graded"] == 2
    assert stats.failed.most_common(1)[0] in (
        ("test_square::test_square_array", 2),
        ("test_square::test_counter (hidden)", 2),
    )
    assert sum(c for _, _, c in stats.distribution()) == 4
    png = (out / "histogram.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    from rich.console import Console

    console = Console(record=True, width=100)
    console.print(render_summary(stats, title="Tiny"))
    text = console.export_text()
    assert "4 submissions" in text and "Most failed tests" in text
    assert (out / "summary.md").read_text().startswith("# Tiny <HW>")


def test_grade_report_rebuilds_from_stored_results(out: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(out), "--no-histogram"])
    assert result.exit_code == 0, result.output
    assert (out / "gradebook.csv").exists() and (out / "ivanov" / "feedback.html").exists()
    assert "corrupt results" in result.output and "broken" in result.output


def test_grade_report_on_an_empty_folder_says_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "grade batch" in result.output
