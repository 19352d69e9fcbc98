"""The whole review cycle in a real browser (Debian's chromium through Playwright).

A class of the tiny assignment is graded (local sandbox); in the page the instructor sets
points and a comment for one student's answer with the keyboard and zero for another; the
gradebook and the feedback show them; a regrade keeps them; a changed answer flags them.
Hostile answer text stays text: no element, no script from it.

Needs ``chromium`` (apt) and ``playwright`` (pip; never ``playwright install``). Skipped where
they are missing, except under CI (``CI`` set), where their absence fails the test.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader.batch.runner import BatchOptions, run_batch
from grader.report.build import build_reports
from grader.review.board import open_board
from grader.review.decisions import load_review
from grader.review.server import ReviewServer
from grader.sandbox.choose import Backend
from grader.spec import Assignment, load_assignment

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
TINY = Path(__file__).resolve().parents[1] / "fixtures" / "assignments" / "tiny"
SOLUTION = """
def square(x):
    return x * x

class Counter:
    def __init__(self, start=0):
        self.total = start

    def add(self, n):
        self.total += n
        return self.total
"""
HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> \u202e и ещё слова'


def sync_playwright() -> Any:
    try:
        from playwright.sync_api import sync_playwright as start
    except ImportError:
        start = None
    if start is None or not CHROMIUM.is_file():
        message = (
            "needs chromium (apt-get install chromium) and playwright (pip install playwright)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return start()


def notebook(path: Path, answer: str) -> None:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(SOLUTION),
            nbformat.v4.new_markdown_cell(f"**Ответ q1:** {answer}"),
        ]
    )
    nb.metadata["dl_grader"] = {"assignment": "tiny"}
    nbformat.write(nb, path)


def grade(spec: Assignment, subs: Path, out: Path) -> None:
    summary = run_batch(spec, subs, out=out, options=BatchOptions(backend=Backend.LOCAL, jobs=1))
    assert summary.graded == summary.total == 3, summary
    build_reports(out, histogram=False)


def gradebook(out: Path) -> dict[str, dict[str, str]]:
    text = (out / "gradebook.csv").read_text(encoding="utf-8-sig")
    return {r["student"]: r for r in csv.DictReader(io.StringIO(text))}


@pytest.fixture
def graded_class(tmp_path: Path) -> tuple[Assignment, Path, Path]:
    shutil.copytree(TINY, tmp_path / "course" / "assignments" / "tiny")
    spec = load_assignment(tmp_path / "course" / "assignments" / "tiny")
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    notebook(subs / "anna.ipynb", "квадрат растёт быстрее линейной функции")
    notebook(subs / "boris.ipynb", "потому что так сказали на лекции")
    notebook(subs / "vera.ipynb", HOSTILE)
    grade(spec, subs, out)
    return spec, subs, out


@pytest.fixture
def serve(graded_class: tuple[Assignment, Path, Path]) -> Iterator[ReviewServer]:
    server = ReviewServer(open_board(graded_class[2]))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_review_in_a_browser_reaches_gradebook_feedback_and_survives_regrades(
    graded_class: tuple[Assignment, Path, Path], serve: ReviewServer
) -> None:
    spec, subs, out = graded_class
    assert gradebook(out)["anna"]["total"] == "4"  # 3 test points + 1 provisional for q1
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(serve.url)
        page.wait_for_selector(".item")
        assert page.url.endswith("/"), "the token leaves the address bar"
        texts = page.locator(".item .text").all_text_contents()
        assert texts[2].startswith('<img src=x onerror="window.pwned=1"><script>')
        assert "⟨U+202E⟩" in texts[2]
        assert page.locator("main img, main script").count() == 0
        assert page.evaluate("window.pwned") is None and not dialogs
        # anna: points typed and a comment, saved with Enter; the page moves on to boris
        page.keyboard.press("e")
        page.keyboard.type("0.5")
        page.keyboard.press("Escape")
        page.keyboard.press("c")
        page.keyboard.type("верно, но кратко <b>")
        page.keyboard.press("Enter")
        page.wait_for_selector("text=anna: 0.5 points saved")
        page.keyboard.press("z")  # boris: zero
        page.wait_for_selector("text=boris: 0 points saved")
        badges = page.locator(".item .badge.done").all_text_contents()
        assert badges == ["decided: 0.5", "decided: 0"]
        browser.close()
    anna = load_review(out / "anna").answers["q1"]
    assert (anna.points, anna.comment) == (0.5, "верно, но кратко <b>")
    assert load_review(out / "boris").answers["q1"].points == 0

    build_reports(out, histogram=False)
    book = gradebook(out)
    assert (book["anna"]["total"], book["anna"]["review_needed"]) == ("3.5", "no")
    assert (book["boris"]["total"], book["vera"]["review_needed"]) == ("3", "yes")
    feedback = (out / "anna" / "feedback.html").read_text(encoding="utf-8")
    assert "reviewed by a teacher" in feedback
    assert "Teacher's comment: верно, но кратко &lt;b&gt;" in feedback

    # a regrade of everything keeps the decisions
    summary = run_batch(
        spec, subs, out=out, options=BatchOptions(backend=Backend.LOCAL, jobs=1, force=True)
    )
    assert summary.graded == 3
    build_reports(out, histogram=False)
    assert gradebook(out)["anna"]["total"] == "3.5"

    # anna resubmits another text: her decision is stale, shown so, and no longer applied
    notebook(subs / "anna.ipynb", "квадрат растёт быстрее, чем любая линейная функция")
    run_batch(spec, subs, out=out, options=BatchOptions(backend=Backend.LOCAL, jobs=1))
    build_reports(out, histogram=False)
    book = gradebook(out)
    assert (book["anna"]["total"], book["anna"]["review_needed"]) == ("4", "yes")
    assert open_board(out, similarity=False).item("anna", "q1")["stale"] is True
