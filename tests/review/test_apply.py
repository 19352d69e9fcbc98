"""Decisions applied to stored results: points and comments, stale decisions, notebooks that
did not finish, components and the late penalty recomputed. Results are built by hand."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from grader.results import AnswerResult, ComponentScore, GradeResult, Status
from grader.review.apply import answers_component, reviewed
from grader.review.decisions import (
    Decision,
    Review,
    ReviewFileError,
    answer_hash,
    load_review,
    save_decision,
)

TEXT = "Потому что квадрат растёт быстрее линейной функции"


def answer(
    qid: str, text: str = TEXT, *, points: float = 1.0, answered: bool = True
) -> AnswerResult:
    return AnswerResult(
        id=qid,
        prompt="Why?",
        text=text,
        answered=answered,
        points=points if answered else 0.0,
        max_points=1.0,
        needs_review=answered,
    )


def result(status: Status = Status.GRADED, *, late: float = 0.0) -> GradeResult:
    answers = [answer("q1"), answer("q2")]
    return GradeResult(
        assignment="tiny",
        assignment_version="1",
        submission="x.ipynb",
        status=status,
        message=status.value,
        points=4.0 - late,
        max_points=5.0,
        late_penalty=late,
        components=[
            ComponentScore(id="funcs", title="F", points=2.0, max_points=3.0),
            ComponentScore(id="answers", title="A", points=2.0, max_points=2.0),
        ],
        answers=answers,
    )


def decision(points: float, text: str = TEXT, comment: str = "") -> Decision:
    return Decision(
        points=points,
        comment=comment,
        answer_sha256=answer_hash(text),
        decided_at=datetime.now().astimezone(),
    )


def test_no_decisions_leave_the_result_as_it_is() -> None:
    r = result()
    assert reviewed(r, Review(), late_fraction=0.0) is r


def test_a_decision_sets_points_comment_and_component() -> None:
    r = reviewed(result(), Review(answers={"q1": decision(0.25, comment="мало")}), late_fraction=0)
    q1, q2 = r.answers
    assert (q1.points, q1.reviewed, q1.needs_review, q1.comment) == (0.25, True, False, "мало")
    assert (q2.points, q2.needs_review) == (1.0, True)
    assert [c.points for c in r.components] == [2.0, 1.25]
    assert r.points == 3.25


def test_points_above_the_maximum_are_capped() -> None:
    r = reviewed(result(), Review(answers={"q1": decision(7)}), late_fraction=0.0)
    assert r.answers[0].points == 1.0


def test_a_decision_on_another_text_is_stale_not_applied() -> None:
    r = reviewed(result(), Review(answers={"q1": decision(0.0, text="old text")}), late_fraction=0)
    q1 = r.answers[0]
    assert (q1.points, q1.reviewed, q1.needs_review) == (1.0, False, True)
    assert "changed after it was reviewed" in q1.message


def test_late_penalty_follows_the_reviewed_points() -> None:
    # 20% of 5 points late; everything zeroed by review but 2 test points: penalty 1, total 1
    r = reviewed(
        result(late=1.0),
        Review(answers={"q1": decision(0), "q2": decision(0)}),
        late_fraction=0.2,
    )
    assert (r.late_penalty, r.points) == (1.0, 1.0)


@pytest.mark.parametrize("status", [Status.TIMEOUT, Status.CRASHED, Status.OUT_OF_MEMORY])
def test_answers_of_unfinished_notebooks_wait_for_a_person(status: Status) -> None:
    r = reviewed(result(status), Review(), late_fraction=0.0)
    assert [a.points for a in r.answers] == [0.0, 0.0]
    assert all(a.needs_review and "did not run to the end" in a.message for a in r.answers)
    assert r.components[1].points == 0.0
    decided = reviewed(result(status), Review(answers={"q2": decision(0.5)}), late_fraction=0.0)
    assert [a.points for a in decided.answers] == [0.0, 0.5]


def test_forbidden_import_scores_nothing_whatever_the_review() -> None:
    r = result(Status.FORBIDDEN_IMPORT)
    assert reviewed(r, Review(answers={"q1": decision(1)}), late_fraction=0.0) is r


def test_the_answers_component_is_the_one_no_test_counts_in() -> None:
    assert answers_component(result()) == "answers"


def test_decisions_round_trip_and_corrupt_files_are_reported(tmp_path: Path) -> None:
    save_decision(tmp_path, "q2", decision(0.5))
    save_decision(tmp_path, "q1", decision(1.0))
    review = save_decision(tmp_path, "q2", None)
    assert list(review.answers) == ["q1"]
    assert load_review(tmp_path) == review
    (tmp_path / "review.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ReviewFileError) as info:
        load_review(tmp_path)
    assert info.value.path == tmp_path / "review.json"
    with pytest.raises(ReviewFileError):
        save_decision(tmp_path, "q1", None)
    assert (tmp_path / "review.json").read_text(encoding="utf-8") == "{not json"
