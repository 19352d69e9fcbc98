"""Declared outcomes of sample submissions: what a result must match, messages included."""

from __future__ import annotations

from grader.core.results import GradeResult, Outcome, Status, TestResult
from grader.course.expectations import Expectation, mismatches


def result(*tests: tuple[Outcome, str]) -> GradeResult:
    return GradeResult(
        assignment="tiny",
        assignment_version="1",
        submission="x.ipynb",
        status=Status.GRADED,
        message="graded",
        points=1.0,
        max_points=2.0,
        tests=[
            TestResult(
                id=f"t.py::test_{i}",
                component="funcs",
                hidden=True,
                outcome=outcome,
                points=1.0 if outcome is Outcome.PASSED else 0.0,
                max_points=1.0,
                message=message,
                detail="the detail is for instructors: 'sum over the batch'",
            )
            for i, (outcome, message) in enumerate(tests)
        ],
    )


def test_messages_must_be_told_by_a_test_that_did_not_pass() -> None:
    got = result(
        (Outcome.FAILED, "Шаг смещений: нужна СУММА δ по объектам батча"),
        (Outcome.PASSED, ""),
    )
    told = Expectation(status=Status.GRADED, messages=["сумма δ по объектам"])
    assert mismatches(got, told) == []
    untold = Expectation(status=Status.GRADED, messages=["sum over the batch", "производн"])
    assert mismatches(got, untold) == [
        "no test tells the student 'sum over the batch'",  # only in the instructor's detail
        "no test tells the student 'производн'",
    ]
