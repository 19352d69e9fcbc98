"""A class graded with real local kernels: verdicts, late policy, cache, --only, --force,
corrupt results, and the reports built from what was stored."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from batch_classes import build_class

from grader.batch.runner import BatchOptions, BatchSummary, run_batch
from grader.core.spec import Assignment
from grader.core.store import Store
from grader.report.build import build_reports
from grader.sandbox.choose import Backend

pytestmark = pytest.mark.slow

BEFORE_DEADLINE = 1790000000  # 2026-09-21, well before the fixture deadline
HOSTILE_ANSWER = "<script>alert('x')</script> ![p](javascript:alert(1)) |pipe| & co"

CLASS = {
    "full.ipynb": "graded/full_marks",
    "broken/tiny.ipynb": "graded/broken_honest",
    "nocounter.ipynb": "missing_names/no_counter",
    "loop.ipynb": "timeout/infinite_loop_cell",
    "exits.ipynb": "crashed/os_exit",
    "notjson.ipynb": "invalid_notebook/not_json",
    "dup.ipynb": "graded/full_marks",
    "dup/tiny.ipynb": "graded/full_marks",
    "late.ipynb": "graded/full_marks",
    "notes.txt": "graded/full_marks",
}
EXPECTED = {  # student: (status, total)
    "full": ("graded", 4.0),
    "broken": ("graded", 0.0),
    "nocounter": ("missing_names", 2.0),
    "loop": ("timeout", 0.0),
    "exits": ("crashed", 0.0),
    "notjson": ("invalid_notebook", 0.0),
    "dup": ("duplicate", 0.0),
    "late": ("graded", 2.0),
    "xss": ("graded", 4.0),
}


def hostile_answer_nb(path: Path, full: Path) -> Path:
    nb = nbformat.read(full, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "Ответ q1" in cell.source:
            cell.source = f"**Ответ q1:** {HOSTILE_ANSWER} and some more words"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def graded_class(
    module_spec: Assignment, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, BatchSummary]:
    base = tmp_path_factory.mktemp("batch")
    root = build_class(base / "class", CLASS)  # type: ignore[arg-type]
    hostile_answer_nb(root / "xss.ipynb", root / "full.ipynb")
    for path in root.rglob("*"):
        os.utime(path, (BEFORE_DEADLINE, BEFORE_DEADLINE))
    manifest = base / "manifest.csv"
    manifest.write_text(
        "student,file,submitted_at\nlate,late.ipynb,2026-10-03T10:00:00+03:00\n", encoding="utf-8"
    )
    out = base / "out"
    options = BatchOptions(backend=Backend.LOCAL, jobs=2, manifest=manifest)
    summary = run_batch(module_spec, root, out=out, options=options)
    build_reports(out)
    return root, out, summary


def _rerun(
    spec: Assignment, graded_class: tuple[Path, Path, BatchSummary], **options: object
) -> BatchSummary:
    root, out, _ = graded_class
    manifest = root.parent / "manifest.csv"
    opts = BatchOptions(backend=Backend.LOCAL, jobs=2, manifest=manifest, **options)  # type: ignore[arg-type]
    return run_batch(spec, root, out=out, options=opts)


def _mtimes(out: Path) -> dict[str, int]:
    return {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/result.json")}


def test_every_student_gets_the_right_verdict(
    graded_class: tuple[Path, Path, BatchSummary],
) -> None:
    _, out, summary = graded_class
    rows = json.loads((out / "gradebook.json").read_text())["students"]
    got = {r["student"]: (r["status"], r["total"]) for r in rows}
    assert got == EXPECTED
    assert summary.total == len(EXPECTED) and summary.cached == 0
    assert summary.graded + summary.failed == len(EXPECTED)
    assert summary.ignored == ["notes.txt"] and not summary.grader_errors


def test_late_policy_is_applied_and_shown(graded_class: tuple[Path, Path, BatchSummary]) -> None:
    _, out, _ = graded_class
    rows = {r["student"]: r for r in json.loads((out / "gradebook.json").read_text())["students"]}
    assert rows["late"]["late_penalty"] == 2.0 and rows["late"]["late_hours"] == 34.02
    assert rows["full"]["late_penalty"] == 0.0 and rows["full"]["late_hours"] == 0
    feedback = (out / "late" / "feedback.md").read_text()
    assert "late penalty −2 points" in feedback and "34.02 h after the deadline" in feedback


def test_feedback_escapes_hostile_answers(graded_class: tuple[Path, Path, BatchSummary]) -> None:
    _, out, _ = graded_class
    page = (out / "xss" / "feedback.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)" in page
    assert "<img" not in page  # no picture from the answer's Markdown either
    assert "awaits review" in page
    markdown = (out / "xss" / "feedback.md").read_text()
    inside, outside = markdown.split("```text")[-1], markdown.split("```text")[0]
    assert HOSTILE_ANSWER in inside and "<script>" not in outside  # verbatim in a code block


def test_a_rerun_with_nothing_changed_regrades_nothing(
    module_spec: Assignment, graded_class: tuple[Path, Path, BatchSummary]
) -> None:
    _, out, _ = graded_class
    before = _mtimes(out)
    summary = _rerun(module_spec, graded_class)
    assert (summary.cached, summary.graded, summary.failed) == (len(EXPECTED), 0, 0)
    assert _mtimes(out) == before


def test_only_regrades_one_student(
    module_spec: Assignment, graded_class: tuple[Path, Path, BatchSummary]
) -> None:
    _, out, _ = graded_class
    before = _mtimes(out)
    summary = _rerun(module_spec, graded_class, only=("full",))
    assert (summary.total, summary.graded, summary.cached) == (1, 1, 0)
    after = _mtimes(out)
    assert after["full"] > before["full"]
    assert {s: t for s, t in after.items() if s != "full"} == {
        s: t for s, t in before.items() if s != "full"
    }


def test_a_corrupt_result_is_regraded(
    module_spec: Assignment, graded_class: tuple[Path, Path, BatchSummary]
) -> None:
    _, out, _ = graded_class
    result = out / "nocounter" / "result.json"
    result.write_text(result.read_text()[:100])
    assert "nocounter" in build_reports(out, histogram=False).unreadable
    summary = _rerun(module_spec, graded_class)
    assert (summary.graded, summary.cached) == (1, len(EXPECTED) - 1)
    assert Store(out).load("nocounter") is not None


def test_broken_tests_stop_the_batch_before_any_grading(spec: Assignment, tmp_path: Path) -> None:
    (spec.root / "tests" / "public" / "test_square.py").write_text("def test_x(:\n")
    root = build_class(
        tmp_path / "class", {"a.ipynb": "graded/full_marks", "b.ipynb": "graded/full_marks"}
    )
    summary = run_batch(
        spec, root, out=tmp_path / "out", options=BatchOptions(backend=Backend.LOCAL, jobs=2)
    )
    assert "could not run" in summary.aborted
    assert sorted(summary.not_finished) == ["a", "b"]
    assert Store(tmp_path / "out").students() == []
