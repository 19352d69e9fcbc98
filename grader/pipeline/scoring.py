"""Points: tests, metrics and answers into components. Host-side only; the late policy and the
total are the verdict's (``grader.core.verdict.build_result``)."""

from __future__ import annotations

from collections.abc import Iterable

from grader.core.lang import Language
from grader.core.messages import Scores
from grader.core.results import AnswerResult, ComponentScore, MetricResult, Outcome, TestResult
from grader.core.spec import Assignment
from grader.core.verdict import Score
from grader.pipeline.answers import Answer
from grader.pipeline.testrun.plugin import GraderPlugin, Recorded


def score(spec: Assignment, plugin: GraderPlugin, answers: Iterable[Answer]) -> Score:
    """The scoring stage: what the tests recorded and the answers read, in points."""
    tests = [test_result(r, spec.language) for r in plugin.tests.values()]
    answered = answer_results(spec, answers)
    return Score(
        tests=tests,
        metrics=metric_results(spec, plugin.tests.values()),
        answers=answered,
        components=components(spec, tests, answered),
        hidden_not_run=len(plugin.pending),
        hidden_points_pending=points_by_component(plugin.pending),
    )


def test_result(rec: Recorded, lang: Language = "en") -> TestResult:
    """Points and the message a student may read (only the hint for hidden tests)."""
    outcome = Outcome(rec.outcome) if rec.outcome in Outcome._value2member_map_ else Outcome.ERROR
    earned = 0.0
    if outcome is Outcome.PASSED:
        fraction = 1.0 if rec.fraction is None else rec.fraction
        earned = round(rec.points * fraction, 4)
        if fraction < 1.0:
            outcome = Outcome.PARTIAL
    message = _message(rec, outcome, lang)
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


def _message(rec: Recorded, outcome: Outcome, lang: Language) -> str:
    if outcome is Outcome.PASSED:
        return ""
    if rec.hidden:
        return rec.hint or Scores.hidden_failed(lang)
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


def metric_results(spec: Assignment, records: Iterable[Recorded]) -> list[MetricResult]:
    """One line per test measuring a metric: the value and the points it is worth."""
    out = []
    for rec in records:
        metric = spec.metric(rec.metric) if rec.metric and not rec.invalid else None
        if metric is None:
            continue
        measured = rec.value if rec.outcome == "passed" else None
        fraction = metric.fraction(measured) if measured is not None else 0.0
        out.append(
            MetricResult(
                id=metric.id,
                test=rec.nodeid,
                component=metric.component,
                hidden=rec.hidden,
                value=measured,
                zero=metric.zero,
                full=metric.full,
                points=round(metric.points * fraction, 4),
                max_points=metric.points,
            )
        )
    return out


def points_by_component(records: Iterable[Recorded]) -> dict[str, float]:
    per: dict[str, float] = {}
    for rec in records:
        per[rec.component] = per.get(rec.component, 0.0) + rec.points
    return per
