"""What a CI job produced: each submission's result (with where its cells are), and the run."""

from __future__ import annotations

from dataclasses import dataclass

from grader.ci.environment import CIEnv
from grader.ci.plan import Layout, Plan, Target
from grader.ci.trust import Trust
from grader.results import GradeResult, Outcome, Status, TestResult
from grader.spec import Assignment

USABLE = (Status.GRADED, Status.MISSING_NAMES)
"""Statuses whose tests ran; the others are verdicts on the notebook as a whole."""


@dataclass(frozen=True)
class Graded:
    target: Target
    result: GradeResult
    folder: str
    """The student's folder in the output (a safe name)."""
    notebook: str = ""
    """The notebook graded, relative to the repository ('' when none was found)."""
    cell_lines: tuple[int, ...] = ()
    """Line of each cell in the notebook file, for annotations (empty when unknown)."""

    @property
    def student(self) -> str:
        return self.target.student

    def line_of(self, cell: int) -> int | None:
        return self.cell_lines[cell] if 0 <= cell < len(self.cell_lines) else None

    def failed_tests(self) -> list[TestResult]:
        bad = (Outcome.FAILED, Outcome.ERROR, Outcome.PARTIAL)
        return [t for t in self.result.tests if t.outcome in bad]


def test_title(t: TestResult) -> str:
    """``test_square_array (hidden)``: the function's name is what students see."""
    return t.id.rpartition("::")[2] + (" (hidden)" if t.hidden else "")


@dataclass(frozen=True)
class CIRun:
    """Everything one ``grade ci`` job decided and produced."""

    ci: CIEnv
    spec: Assignment
    layout: Layout
    hidden: bool
    plan: Plan
    graded: tuple[Graded, ...] = ()
    trust: Trust | None = None
    """The decision on hidden tests (None when they were not asked for)."""
    exposed: tuple[str, ...] = ()
    """Hidden test or data files committed to a repository students can read."""

    @property
    def refused(self) -> bool:
        return self.trust is not None and not self.trust.allowed
