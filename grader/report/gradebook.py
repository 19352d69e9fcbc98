"""Gradebook rows: one per student, the same data for ``gradebook.csv`` and ``gradebook.json``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from grader.batch.store import BatchInfo, Stored
from grader.results import Outcome
from grader.scoring import late_fraction


@dataclass(frozen=True)
class Lateness:
    """How late a submission was, as the late policy sees it."""

    submitted_at: datetime | None
    late_by: timedelta
    fraction: float
    """Fraction of the maximum the policy takes (before capping at what was earned)."""

    @property
    def hours(self) -> float:
        return round(max(0.0, self.late_by.total_seconds() / 3600), 2)


def lateness(stored: Stored, info: BatchInfo) -> Lateness:
    when = stored.record.submitted_at if stored.record else None
    deadline = info.late.deadline
    late_by = (when - deadline) if (when and deadline and when > deadline) else timedelta(0)
    return Lateness(when, late_by, late_fraction(info.late, when))


STUDENT_SET = {"git-committer": "git-committer (set by the student)"}
"""Time sources a student controls, as the gradebook labels them."""


def _source(stored: Stored) -> str:
    source = stored.record.time_from if stored.record else ""
    return STUDENT_SET.get(source, source)


@dataclass(frozen=True)
class Row:
    student: str
    status: str
    total: float
    max_points: float
    late_penalty: float
    late_hours: float
    submitted_at: str
    submitted_from: str = ""
    """Where ``submitted_at`` came from (``grader.batch.timestamps``); a student-set source
    is labelled so."""
    components: dict[str, float] = field(default_factory=dict)
    tests_passed: int = 0
    tests_total: int = 0
    review_needed: bool = False
    message: str = ""
    submission: str = ""

    @property
    def earned(self) -> float:
        """Points before the late penalty."""
        return round(self.total + self.late_penalty, 4)


def row_of(stored: Stored, info: BatchInfo) -> Row:
    r = stored.result
    late = lateness(stored, info)
    by_id = {c.id: c.points for c in r.components}
    return Row(
        student=stored.student,
        status=r.status.value,
        total=r.points,
        max_points=r.max_points or info.max_points,
        late_penalty=r.late_penalty,
        late_hours=late.hours,
        submitted_at=late.submitted_at.isoformat(timespec="seconds") if late.submitted_at else "",
        submitted_from=_source(stored),
        components={c.id: by_id.get(c.id, 0.0) for c in info.components},
        tests_passed=sum(t.outcome is Outcome.PASSED for t in r.tests),
        tests_total=len(r.tests),
        review_needed=r.needs_review,
        message=r.message,
        submission=r.submission,
    )
