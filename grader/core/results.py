"""Typed, frozen results of grading one submission; rendering lives in ``grader.report``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from grader.core.lang import Language

SCHEMA_VERSION = 1


class Status(StrEnum):
    """Verdict of a submission as a whole."""

    GRADED = "graded"
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out_of_memory"
    CRASHED = "crashed"
    INVALID_NOTEBOOK = "invalid_notebook"
    FORBIDDEN_IMPORT = "forbidden_import"
    MISSING_NAMES = "missing_names"
    NOT_FOUND = "not_found"
    GRADER_ERROR = "grader_error"
    DUPLICATE = "duplicate"
    """Two or more submissions for one student in a batch; none was graded."""
    INTERRUPTED = "interrupted"
    """Grading was stopped (Ctrl-C, a signal) before it finished; nothing was scored."""
    NETWORK_ACCESS = "network_access"
    """An app tried to reach the internet (e.g. to download weights) and did not start."""


class Outcome(StrEnum):
    PASSED = "passed"
    PARTIAL = "partial"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TestResult(_Frozen):
    """One test: its points and what the student may read about it."""

    __test__ = False  # not a pytest class

    id: str = Field(description="Test id, e.g. test_gd.py::test_converges.")
    component: str
    hidden: bool
    outcome: Outcome
    points: float
    max_points: float
    message: str = Field("", description="Why it failed; for hidden tests only the hint.")
    detail: str = Field(
        "",
        description="A failed hidden test's own message, for instructors only: never show it "
        "to a student (it may hold hidden values).",
    )


class MetricResult(_Frozen):
    """A metric component declared in the spec: the value a test measured and its points."""

    id: str = Field(description="The metric's id in the spec, e.g. accuracy.")
    test: str = Field(description="Id of the test that measured it.")
    component: str
    hidden: bool
    value: float | None = Field(description="What was measured; None when it could not be.")
    zero: float = Field(description="The value worth no points.")
    full: float = Field(description="The value worth all points.")
    points: float
    max_points: float


class AnswerResult(_Frozen):
    """One written answer, as read from the notebook's markdown."""

    id: str
    prompt: str
    text: str
    answered: bool
    points: float
    max_points: float
    needs_review: bool = Field(description="Points are provisional until a person reads it.")
    message: str = ""
    reviewed: bool = Field(False, description="A person set the points (grade review).")
    comment: str = Field("", description="The reviewer's comment, shown to the student.")


class ComponentScore(_Frozen):
    id: str
    title: str
    points: float
    max_points: float


class CellError(_Frozen):
    """A cell that raised while the notebook ran (the run went on)."""

    index: int
    ename: str
    evalue: str
    source_head: str = Field(description="The first lines of the failing cell.")


class Timings(_Frozen):
    intake_s: float = 0.0
    execute_s: float = 0.0
    tests_s: float = 0.0
    total_s: float = 0.0


class GradeResult(_Frozen):
    """Everything known about one graded (or refused) submission."""

    schema_version: int = SCHEMA_VERSION
    assignment: str
    assignment_version: str
    language: Language = Field("en", description="The course's language (feedback speaks it).")
    submission: str = Field(description="Path of the notebook as given.")
    notebook_sha256: str = ""
    status: Status
    message: str = Field(description="One human sentence: what happened and what to do.")
    points: float = 0.0
    max_points: float = 0.0
    late_penalty: float = Field(0.0, description="Points subtracted for lateness.")
    components: list[ComponentScore] = Field(default_factory=list)
    tests: list[TestResult] = Field(default_factory=list)
    metrics: list[MetricResult] = Field(
        default_factory=list, description="Metric components (also listed among the tests)."
    )
    answers: list[AnswerResult] = Field(default_factory=list)
    cell_errors: list[CellError] = Field(default_factory=list)
    artifacts: list[str] = Field(
        default_factory=list, description="Files the tests left beside the result (plots)."
    )
    hidden_included: bool = Field(False, description="Whether hidden tests ran.")
    hidden_not_run: int = Field(0, description="Hidden tests that exist but did not run.")
    hidden_points_pending: dict[str, float] = Field(
        default_factory=dict, description="Points of the hidden tests not run, by component."
    )
    timings: Timings = Field(default_factory=Timings)
    versions: dict[str, str] = Field(default_factory=dict)

    @property
    def needs_review(self) -> bool:
        return any(a.needs_review for a in self.answers)

    def for_students(self) -> GradeResult:
        """This result without what only instructors may read (hidden tests' ``detail``)."""
        tests = [t.model_copy(update={"detail": ""}) for t in self.tests]
        return self.model_copy(update={"tests": tests})

    def write(self, path: Path) -> None:
        """Write atomically as JSON (a reader never sees half a file)."""
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def read(cls, path: Path) -> GradeResult:
        """Read and re-validate a stored result."""
        return cls.model_validate_json(path.read_text(encoding="utf-8"))
