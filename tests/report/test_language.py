"""Feedback speaks the course's language: a Russian assignment's feedback (Markdown, HTML,
console, Gradescope, class summary) has no English chrome. Results are built by hand."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest
from rich.console import Console

from grader.core.results import (
    AnswerResult,
    CellError,
    ComponentScore,
    GradeResult,
    MetricResult,
    Outcome,
    Status,
    TestResult,
)
from grader.core.spec import Assignment, Component, LatePolicy, Metric, Question
from grader.core.store import ARTIFACTS, BatchInfo, Record, Store
from grader.report.build import build_reports
from grader.report.console import render
from grader.report.summary import render_summary

MSK = timezone(timedelta(hours=3))
DEADLINE = datetime(2026, 10, 1, 23, 59, tzinfo=MSK)
TECHNICAL = {"markdown", "png"}
"""Latin words a Russian page may hold besides the result's own data."""


def spec(tmp_path: Path, language: str) -> Assignment:
    return Assignment.model_validate(
        {
            "id": "kurs",
            "title": "Домашнее задание",
            "notebook": "dz.ipynb",
            "language": language,
            "root": tmp_path,
            "late": LatePolicy(deadline=DEADLINE, penalty=0.25),
            "components": [
                Component(id="chast", title="Функции", points=3),
                Component(id="otvety", title="Ответы", points=2, kind="answers"),
            ],
            "questions": [
                Question(id="v1", prompt="Почему?", points=1),
                Question(id="v2", prompt="Зачем?", points=1),
            ],
            "metrics": [
                Metric(
                    id="tochnost", title="Точность", component="chast", points=1, zero=0.5, full=1
                )
            ],
        }
    )


def result(language: str) -> GradeResult:
    """Every section of the feedback: tests of every outcome (a hidden one too), a metric,
    an answer awaiting review and a missing one, a cell error, a late penalty, a picture."""

    def test(name: str, outcome: Outcome, points: float, hidden: bool = False) -> TestResult:
        return TestResult(
            id=f"tests/x/proverka.py::{name}",
            component="chast",
            hidden=hidden,
            outcome=outcome,
            points=points,
            max_points=1.0,
            message="" if outcome is Outcome.PASSED else "неверно",
        )

    return GradeResult(
        assignment="kurs",
        assignment_version="1",
        language=language,  # type: ignore[arg-type]
        submission="rabota.ipynb",
        status=Status.GRADED,
        message="проверено",
        points=2.5,
        max_points=5.0,
        late_penalty=0.5,
        components=[ComponentScore(id="chast", title="Функции", points=2, max_points=3)],
        tests=[
            test("ok", Outcome.PASSED, 1),
            test("chastichno", Outcome.PARTIAL, 0.5),
            test("ploho", Outcome.FAILED, 0),
            test("oshibka", Outcome.ERROR, 0),
            test("propusk", Outcome.SKIPPED, 0),
            test("skryty", Outcome.FAILED, 0, hidden=True),
        ],
        metrics=[
            MetricResult(
                id="tochnost",
                test="tests/x/proverka.py::ok",
                component="chast",
                hidden=False,
                value=0.9,
                zero=0.5,
                full=1.0,
                points=0.8,
                max_points=1.0,
            )
        ],
        answers=[
            AnswerResult(
                id="v1", prompt="Почему?", text="потому что так", answered=True, points=1,
                max_points=1, needs_review=True,
            ),
            AnswerResult(
                id="v2", prompt="Зачем?", text="", answered=False, points=0, max_points=1,
                needs_review=False, message="нет отметки",
            ),
        ],
        cell_errors=[
            CellError(index=2, ename="ZeroDivisionError", evalue="деление", source_head="1/0")
        ],
        artifacts=["grafik.png"],
        hidden_included=False,
        hidden_not_run=2,
        hidden_points_pending={"chast": 2.0},
    )  # fmt: skip


def data_words(*texts: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_]{2,}", " ".join(texts)))


def stray_latin(rendered: str, data: str) -> set[str]:
    """Latin words of ``rendered`` that are neither the result's own data nor technical."""
    return data_words(rendered) - data_words(data) - TECHNICAL


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.skip = tag == "style"
        self.parts += [v or "" for k, v in attrs if k in ("alt", "title")]

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(parser.parts)


@pytest.fixture(params=["ru", "en"])
def stored_class(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path, str]:
    """A class of one student in a course of each language; (language, out, the data)."""
    language = request.param
    out = tmp_path / "out"
    store = Store(out)
    store.save_info(BatchInfo.of(spec(tmp_path, language)))
    graded = result(language)
    record = Record(
        student="ivanov",
        key="k",
        submitted_at=DEADLINE + timedelta(hours=30),
        graded_at=DEADLINE,
    )
    store.save("ivanov", graded, record)
    (store.artifacts("ivanov")).mkdir(parents=True, exist_ok=True)
    (store.artifacts("ivanov") / "grafik.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    data = " ".join([graded.model_dump_json(), "ivanov", str(out), ARTIFACTS, "tochnost"])
    return language, out, data


def test_feedback_has_no_chrome_of_another_language(stored_class: tuple[str, Path, str]) -> None:
    language, out, data = stored_class
    reports = build_reports(out, histogram=False)
    folder = out / "ivanov"
    md = (folder / "feedback.md").read_text(encoding="utf-8")
    page = (folder / "feedback.html").read_text(encoding="utf-8")
    gradescope = json.loads((folder / "gradescope" / "results.json").read_text(encoding="utf-8"))
    summary = (out / "summary.md").read_text(encoding="utf-8")
    console = Console(record=True, width=200)
    render(result(language), console)
    console.print(render_summary(reports.stats, title="Группа", lang=language))  # type: ignore[arg-type]
    outputs = {
        "feedback.md": md,
        "feedback.html": html_text(page),
        "gradescope": " ".join(
            [gradescope["output"], *(f"{t['name']} {t['output']}" for t in gradescope["tests"])]
        ),
        "summary.md": summary,
        "console": console.export_text(),
    }
    if language == "ru":
        for name, text in outputs.items():
            assert stray_latin(text, data) == set(), name
        assert "<html lang=ru>" in page
    else:
        assert "Not passed" in md and "Passed" in md and "NOT YOUR GRADE YET" in outputs["console"]
        russian_chrome = ("Пройдено", "Баллы", "Что сделать", "ЭТО ЕЩЁ НЕ ОЦЕНКА", "Сдано")
        for name, text in outputs.items():
            assert not [w for w in russian_chrome if w in text], name
