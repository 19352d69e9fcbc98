"""Points: tests and answers into components, the late policy, the total. Host-side only."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from grader.answers import Answer
from grader.results import AnswerResult, ComponentScore, Outcome, TestResult
from grader.spec import Assignment, LatePolicy
from grader.testing.plugin import Recorded

_UNIT = {"day": timedelta(days=1), "hour": timedelta(hours=1)}


def test_result(rec: Recorded) -> TestResult:
    """Points and the message a student may read (only the hint for hidden tests)."""
    outcome = Outcome(rec.outcome) if rec.outcome in Outcome._value2member_map_ else Outcome.ERROR
    earned = 0.0
    if outcome is Outcome.PASSED:
        fraction = 1.0 if rec.fraction is None else rec.fraction
        earned = round(rec.points * fraction, 4)
        if fraction < 1.0:
            outcome = Outcome.PARTIAL
    message = _message(rec, outcome)
    return TestResult(
        id=rec.nodeid,
        component=rec.component,
        hidden=rec.hidden,
        outcome=outcome,
        points=earned,
        max_points=rec.points,
        message=message,
        detail=_detail(rec, outcome),
    )


def _detail(rec: Recorded, outcome: Outcome) -> str:
    """What an instructor reads beyond a hidden test's hint: its assertion, or its credit note."""
    if not rec.hidden or outcome is Outcome.PASSED:
        return ""
    return rec.credit_note if outcome is Outcome.PARTIAL else rec.message


def _message(rec: Recorded, outcome: Outcome) -> str:
    if outcome is Outcome.PASSED:
        return ""
    if rec.hidden:
        return rec.hint or "hidden test failed"
    if outcome is Outcome.PARTIAL:
        return rec.credit_note
    return "\n".join(p for p in (rec.message, rec.hint) if p)


def answer_results(spec: Assignment, answers: Iterable[Answer]) -> list[AnswerResult]:
    """Text answers present and substantive get their points provisionally, pending review."""
    by_id = {a.id: a for a in answers}
    out = []
    for q in spec.questions:
        a = by_id[q.id]
        reviewed_by_people = q.kind == "text"
        points = q.points if (a.answered and reviewed_by_people) else 0.0
        out.append(
            AnswerResult(
                id=q.id,
                prompt=q.prompt,
                text=a.text,
                answered=a.answered,
                points=points,
                max_points=q.points if reviewed_by_people else 0.0,
                needs_review=a.answered and reviewed_by_people,
                message=a.reason,
            )
        )
    return out


def components(
    spec: Assignment, tests: list[TestResult], answers: list[AnswerResult]
) -> list[ComponentScore]:
    out = []
    for c in spec.components:
        if c.kind == "answers":
            got, top = sum(a.points for a in answers), sum(a.max_points for a in answers)
        else:
            mine = [t for t in tests if t.component == c.id]
            got, top = sum(t.points for t in mine), sum(t.max_points for t in mine)
        out.append(
            ComponentScore(id=c.id, title=c.title, points=round(got, 4), max_points=round(top, 4))
        )
    return out


def points_by_component(records: Iterable[Recorded]) -> dict[str, float]:
    per: dict[str, float] = {}
    for rec in records:
        per[rec.component] = per.get(rec.component, 0.0) + rec.points
    return per


def late_fraction(policy: LatePolicy, submitted_at: datetime | None) -> float:
    """Fraction of the maximum lost for submitting at ``submitted_at`` (naive = local time)."""
    if policy.deadline is None or submitted_at is None or policy.penalty == 0:
        return 0.0
    if submitted_at.utcoffset() is None:
        submitted_at = submitted_at.astimezone()
    late = submitted_at - policy.deadline - timedelta(minutes=policy.grace_minutes)
    if late <= timedelta(0):
        return 0.0
    units = math.ceil(late / _UNIT[policy.per])
    return min(policy.max_penalty, units * policy.penalty)


def late_penalty(spec: Assignment, earned: float, submitted_at: datetime | None) -> float:
    """Points subtracted; never more than what was earned."""
    return round(min(earned, late_fraction(spec.late, submitted_at) * spec.max_points), 4)
