"""A stored result as the instructor's decisions leave it: the grade the reports publish.

``result.json`` holds what the machine found; reviewed points, comments and the rule for
notebooks that did not finish are applied here, when reports are built, so they reach the
gradebook, the feedback and every export alike.

* A decision made on the same answer text sets the points (capped at the question's maximum)
  and the comment; the answer no longer awaits review.
* A decision made on another text (the student resubmitted) is *stale*: not applied, and the
  answer awaits review again.
* A notebook that timed out, ran out of memory or crashed gets no provisional points for its
  written answers: they wait, flagged, for a person to decide.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from grader.batch.store import BatchInfo, Stored
from grader.results import AnswerResult, ComponentScore, GradeResult, Status
from grader.review.decisions import Decision, Review, ReviewFileError, answer_hash, load_review
from grader.scoring import late_fraction

UNFINISHED = frozenset({Status.TIMEOUT, Status.OUT_OF_MEMORY, Status.CRASHED})
"""Verdicts of runs that stopped before the end: their answers are not scored unreviewed."""
REVIEWABLE = UNFINISHED | {Status.GRADED, Status.MISSING_NAMES}
"""Verdicts whose answers a decision may score (a forbidden import scores 0 by rule)."""


@dataclass(frozen=True)
class AnswerState:
    """How one answer stands against the review."""

    decision: Decision | None
    stale: bool
    """A decision exists, made on a text the student has since changed."""
    unfinished: bool
    """The notebook did not run to the end; unreviewed, the answer earns nothing."""


def answer_state(result: GradeResult, answer: AnswerResult, review: Review) -> AnswerState:
    decision = review.answers.get(answer.id)
    stale = decision is not None and decision.answer_sha256 != answer_hash(answer.text)
    unfinished = result.status in UNFINISHED and answer.max_points > 0
    return AnswerState(decision, stale, unfinished)


def reviewed(result: GradeResult, review: Review, *, late_fraction: float) -> GradeResult:
    """``result`` with the decisions applied; the same object when nothing changes."""
    if result.status not in REVIEWABLE or not result.answers:
        return result
    answers = [_answer(a, answer_state(result, a, review)) for a in result.answers]
    if answers == list(result.answers):
        return result
    components = _components(result, answers)
    earned = round(sum(c.points for c in components), 4)
    penalty = round(min(earned, late_fraction * result.max_points), 4)
    return result.model_copy(
        update={
            "answers": answers,
            "components": components,
            "points": round(max(0.0, earned - penalty), 4),
            "late_penalty": penalty,
        }
    )


def _answer(a: AnswerResult, state: AnswerState) -> AnswerResult:
    d = state.decision
    if d is not None and not state.stale:
        points = round(min(d.points, a.max_points), 4)
        update = {"points": points, "needs_review": False, "reviewed": True, "comment": d.comment}
        return a.model_copy(update=update)
    notes = []
    if d is not None and state.stale:
        notes.append(f"the answer changed after it was reviewed ({d.points:g} points then)")
    if state.unfinished and a.answered:
        notes.append("the notebook did not run to the end: no points until a teacher reads it")
    if not notes:
        return a
    points = 0.0 if state.unfinished else a.points
    message = "; ".join([a.message, *notes] if a.message else notes)
    return a.model_copy(update={"points": points, "needs_review": a.answered, "message": message})


def _components(result: GradeResult, answers: list[AnswerResult]) -> list[ComponentScore]:
    target = answers_component(result)
    if target is None:
        return list(result.components)
    total = round(sum(a.points for a in answers), 4)
    return [
        c.model_copy(update={"points": total}) if c.id == target else c for c in result.components
    ]


def answers_component(result: GradeResult) -> str | None:
    """The component the written answers count in: the one no test belongs to whose maximum
    is the answers' (scoring sums answers into exactly one such component)."""
    tested = {t.component for t in result.tests}
    top = round(sum(a.max_points for a in result.answers), 4)
    for c in result.components:
        if c.id not in tested and abs(c.max_points - top) < 1e-9:
            return c.id
    return None


def reviewed_stored(stored: Stored, info: BatchInfo) -> Stored:
    """The stored result with the student's decisions applied (raises for a corrupt file)."""
    review = load_review(stored.folder)
    when = stored.record.submitted_at if stored.record else None
    result = reviewed(stored.result, review, late_fraction=late_fraction(info.late, when))
    return stored if result is stored.result else replace(stored, result=result)


def with_reviews(stored: Stored, info: BatchInfo, warnings: list[str]) -> Stored:
    """For reports: as :func:`reviewed_stored`, a corrupt review file becomes a warning."""
    try:
        return reviewed_stored(stored, info)
    except ReviewFileError as exc:
        warnings.append(str(exc))
        return stored
