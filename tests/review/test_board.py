"""What the review page is given, and the one write it can make."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.errors import GraderError
from grader.review.board import open_board, visible
from grader.review.decisions import load_review


def items(out: Path) -> dict[str, dict[str, object]]:
    state = open_board(out).state()
    (question,) = state["questions"]
    return {item["key"]: item for item in question["items"]}


def test_questions_come_with_rubric_and_every_students_answer(batch_out: Path) -> None:
    state = open_board(batch_out).state()
    (q,) = state["questions"]
    assert (q["id"], q["rubric"], q["max_points"]) == (
        "q1",
        "Full marks: names growth <em>rates</em>.",
        1.0,
    )
    assert [i["key"] for i in q["items"]] == ["anna", "boris", "dima", "gleb", "vera<script>"]
    json.dumps(state)  # the page gets it as JSON


def test_control_and_direction_characters_are_made_visible(batch_out: Path) -> None:
    text = items(batch_out)["vera<script>"]["text"]
    assert "\u202e" not in text and "\x1b" not in text
    assert "⟨U+202E⟩evil" in text and "⟨U+001B⟩[31m" in text
    assert "<script>" in text, "markup stays text; the page sets it with textContent"
    assert visible("a\nb\tc") == "a\nb\tc"


def test_unfinished_notebooks_and_near_duplicates_are_flagged(batch_out: Path) -> None:
    found = items(batch_out)
    assert found["gleb"]["unfinished"] and found["gleb"]["provisional"] == 0.0
    assert not found["anna"]["unfinished"]
    assert [s["student"] for s in found["anna"]["similar"]] == ["boris"]
    assert found["dima"]["answered"] is False


def test_code_pairs_are_read_from_the_graded_submissions(batch_out: Path) -> None:
    board = open_board(batch_out)
    assert {board.pairs[0].a, board.pairs[0].b} == {"anna", "boris"}
    pair = board.pair_code("boris", "anna")
    assert "def square" in pair["code_a"] and pair["lines_a"]


def test_a_changed_submission_is_not_compared(batch_out: Path, tmp_path: Path) -> None:
    (tmp_path / "subs" / "anna.ipynb").write_text(
        (tmp_path / "subs" / "dima.ipynb").read_text(encoding="utf-8"), encoding="utf-8"
    )
    board = open_board(batch_out)
    assert "anna" in board.skipped and "anna" not in board.codes


def test_decide_stores_the_decision_on_the_text_seen(batch_out: Path) -> None:
    board = open_board(batch_out, similarity=False)
    sha = items(batch_out)["anna"]["answer_sha256"]
    item = board.decide("anna", "q1", points=0.5, comment="<b>хорошо</b>", answer_sha256=sha)
    assert item["decision"]["points"] == 0.5 and not item["stale"]
    stored = load_review(batch_out / "anna").answers["q1"]
    assert (stored.points, stored.comment, stored.answer_sha256) == (0.5, "<b>хорошо</b>", sha)
    board.decide("anna", "q1", points=None, comment="", answer_sha256=sha)
    assert load_review(batch_out / "anna").answers == {}


@pytest.mark.parametrize(
    ("student", "points", "sha", "why"),
    [
        ("anna", 0.5, "0" * 64, "changed since the page was loaded"),
        ("anna", 1.5, None, "points must lie in 0..1"),
        ("anna", -1, None, "points must lie in 0..1"),
        ("nobody", 0.5, None, "no answer"),
        ("../anna", 0.5, None, "no answer"),
    ],
)
def test_decide_refuses_what_it_cannot_store(
    batch_out: Path, student: str, points: float, sha: str | None, why: str
) -> None:
    board = open_board(batch_out, similarity=False)
    real = items(batch_out)["anna"]["answer_sha256"]
    with pytest.raises(GraderError, match=why):
        board.decide(student, "q1", points=points, comment="", answer_sha256=sha or real)
    assert not (batch_out / "anna" / "review.json").exists()
