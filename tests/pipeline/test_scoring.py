"""Scoring on the host: tests and answers into components, late penalties, hidden messages."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader.core.results import ComponentScore, Outcome, Status, TestResult
from grader.core.spec import Assignment, LatePolicy
from grader.core.verdict import Score, Verdict, build_result
from grader.pipeline import scoring
from grader.pipeline.answers import Answer
from grader.pipeline.grading import Options, grade_submission
from grader.pipeline.testrun.plugin import Recorded
from grader.sandbox.fake import FakeSandbox

MSK = timezone(timedelta(hours=3))
DEADLINE = datetime(2026, 10, 1, 23, 59, tzinfo=MSK)


def rec(
    outcome: str,
    *,
    hidden: bool = False,
    fraction: float | None = None,
    hint: str = "check the sign",
    message: str = "assert 3 == 4",
) -> Recorded:
    return Recorded(
        "tests/x.py::test_a",
        2.0,
        "funcs",
        hint,
        hidden,
        outcome,
        message,
        fraction,
        credit_note="half of the cases",
    )


def test_passed_test_earns_its_points() -> None:
    result = scoring.test_result(rec("passed"))
    assert (result.outcome, result.points, result.max_points, result.message) == (
        Outcome.PASSED,
        2.0,
        2.0,
        "",
    )


def test_partial_credit() -> None:
    result = scoring.test_result(rec("passed", fraction=0.25))
    assert (result.outcome, result.points, result.message) == (
        Outcome.PARTIAL,
        0.5,
        "half of the cases",
    )


def test_public_failure_shows_the_assertion_and_the_hint() -> None:
    result = scoring.test_result(rec("failed"))
    assert (result.outcome, result.points) == (Outcome.FAILED, 0.0)
    assert "assert 3 == 4" in result.message and "check the sign" in result.message


@pytest.mark.parametrize("outcome", ["failed", "error", "passed"])
def test_hidden_failure_shows_only_the_hint(outcome: str) -> None:
    result = scoring.test_result(
        rec(outcome, hidden=True, fraction=0.5, message="assert 41.97 == 42.0 (hidden value)")
    )
    assert result.message == "check the sign"
    without_hint = scoring.test_result(
        rec(outcome, hidden=True, fraction=0.5, hint="", message="assert 41.97 == 42.0")
    )
    assert "41.97" not in without_hint.message and without_hint.message


def test_instructors_get_what_a_hidden_test_said() -> None:
    failed = scoring.test_result(rec("failed", hidden=True, message="assert 41.97 == 42.0"))
    assert (failed.message, failed.detail) == ("check the sign", "assert 41.97 == 42.0")
    partial = scoring.test_result(rec("passed", hidden=True, fraction=0.5))
    assert (partial.message, partial.detail) == ("check the sign", "half of the cases")
    public = scoring.test_result(rec("failed"))
    assert public.detail == "" and "assert 3 == 4" in public.message
    assert scoring.test_result(rec("passed", hidden=True)).detail == ""


def test_unknown_outcome_is_an_error() -> None:
    result = scoring.test_result(rec("xpassed-strangely"))
    assert (result.outcome, result.points) == (Outcome.ERROR, 0.0)


def test_skipped_earns_nothing() -> None:
    assert scoring.test_result(rec("skipped")).points == 0.0


def test_components_and_answers(tiny: Assignment) -> None:
    tests = [
        TestResult(
            id="a", component="funcs", hidden=False, outcome=Outcome.PASSED, points=1, max_points=1
        ),
        TestResult(
            id="b",
            component="funcs",
            hidden=True,
            outcome=Outcome.PARTIAL,
            points=0.5,
            max_points=2,
        ),
        TestResult(
            id="c", component="other", hidden=False, outcome=Outcome.PASSED, points=9, max_points=9
        ),
    ]
    answers = scoring.answer_results(tiny, [Answer("q1", "потому что так надо", True)])
    assert [(a.points, a.max_points, a.needs_review) for a in answers] == [(1.0, 1.0, True)]
    comps = scoring.components(tiny, tests, answers)
    assert [(c.id, c.points, c.max_points) for c in comps] == [
        ("funcs", 1.5, 3.0),
        ("answers", 1.0, 1.0),
    ]


def test_unanswered_question_earns_nothing(tiny: Assignment) -> None:
    answers = scoring.answer_results(tiny, [Answer("q1", "", False, "no marker")])
    assert [(a.points, a.needs_review, a.message) for a in answers] == [(0.0, False, "no marker")]


def policy(**kw: object) -> LatePolicy:
    base: dict[str, object] = {
        "deadline": DEADLINE,
        "grace_minutes": 30,
        "per": "day",
        "penalty": 0.1,
        "max_penalty": 0.3,
    }
    return LatePolicy.model_validate({**base, **kw})


LATE = [
    pytest.param({}, None, 0.0, id="no-submission-time"),
    pytest.param({"deadline": None}, timedelta(days=9), 0.0, id="no-deadline"),
    pytest.param({"penalty": 0.0}, timedelta(days=9), 0.0, id="no-penalty"),
    pytest.param({}, -timedelta(hours=5), 0.0, id="early"),
    pytest.param({}, timedelta(0), 0.0, id="at-deadline"),
    pytest.param({}, timedelta(minutes=30), 0.0, id="end-of-grace"),
    pytest.param({}, timedelta(minutes=31), 0.1, id="one-minute-late"),
    pytest.param({}, timedelta(days=1, minutes=30), 0.1, id="exactly-one-day"),
    pytest.param({}, timedelta(days=1, minutes=30, seconds=1), 0.2, id="second-day-started"),
    pytest.param({}, timedelta(days=20), 0.3, id="capped"),
    pytest.param(
        {"per": "hour", "grace_minutes": 0, "penalty": 0.05, "max_penalty": 1.0},
        timedelta(hours=2, minutes=1),
        0.15,
        id="per-hour",
    ),
    pytest.param({"max_penalty": 1.0, "penalty": 0.5}, timedelta(days=5), 1.0, id="all-lost"),
]


@pytest.mark.parametrize(("changes", "after", "fraction"), LATE)
def test_late_fraction(
    changes: dict[str, object], after: timedelta | None, fraction: float
) -> None:
    submitted = None if after is None else DEADLINE + after
    assert policy(**changes).fraction(submitted) == pytest.approx(fraction)


def test_late_fraction_in_another_timezone() -> None:
    utc_time = (DEADLINE + timedelta(minutes=31)).astimezone(UTC)
    assert policy().fraction(utc_time) == pytest.approx(0.1)


@pytest.fixture
def far_east(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time UTC+10, so naive times read as local differ from naive times read as UTC."""
    monkeypatch.setenv("TZ", "Asia/Vladivostok")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("far_east")
def test_naive_submission_time_is_local_time() -> None:
    aware = DEADLINE + timedelta(days=1, hours=1)
    naive_local = aware.astimezone().replace(tzinfo=None)
    assert naive_local.hour == aware.astimezone(timezone(timedelta(hours=10))).hour
    assert policy().fraction(naive_local) == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("earned", "fraction", "penalty"),
    [(4.0, 0.1, 0.4), (4.0, 0.3, 1.2), (0.5, 0.3, 0.5), (0.0, 1.0, 0.0)],
)
def test_late_penalty_never_exceeds_what_was_earned(
    tiny: Assignment, earned: float, fraction: float, penalty: float
) -> None:
    spec = tiny.model_copy(
        update={"late": policy(penalty=fraction, max_penalty=1.0, grace_minutes=0)}
    )
    late = DEADLINE + timedelta(hours=1)
    assert spec.max_points == 4
    earned_parts = [ComponentScore(id="funcs", title="F", points=earned, max_points=4.0)]
    verdict = Verdict(Status.GRADED, "graded")
    result = build_result(
        spec,
        submission="x",
        verdict=verdict,
        hidden=True,
        score=Score(components=earned_parts),
        submitted_at=late,
    )
    assert result.late_penalty == pytest.approx(penalty)
    assert result.points == pytest.approx(earned - penalty)


def test_late_penalty_applies_to_a_graded_submission(
    tiny: Assignment, notebooks: Path, fake: FakeSandbox
) -> None:
    spec = tiny.model_copy(update={"late": policy()})
    options = Options(sandbox=fake, submitted_at=DEADLINE + timedelta(days=1, hours=1))
    result = grade_submission(spec, notebooks / "graded" / "full_marks.ipynb", options=options)
    assert result.status == Status.GRADED
    assert (result.late_penalty, result.points, result.max_points) == (0.8, 3.2, 4.0)
    assert sum(c.points for c in result.components) == 4.0  # components stay unpenalised
