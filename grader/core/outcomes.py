"""What each stage of grading found, as typed values; ``verdict.py`` turns them into a status.

A stage never decides the submission's status: intake says the submission is unusable and why
(:class:`Refused`), the static check lists forbidden imports and missing names
(:class:`StaticOutcome`), the run says where and why it stopped (:class:`RunOutcome`, with the
sandbox's :class:`~grader.sandbox.base.KernelEnd` already folded into :class:`Stop`), the test
stage says whether the kernel could be reached (:class:`TestsOutcome`), and the grader itself
may fail (:class:`GraderFailed`). Sentences are kept as :class:`~grader.core.lang.Said`
until the course's language is known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from grader.core.lang import Phrase, Said
from grader.core.results import CellError

FORBIDDEN_IMPORT_ERROR = "ForbiddenImportError"
"""Class name of the error the kernel's import blocker raises (``pipeline.execute`` defines it
in the kernel under this name); a cell error of this name is a forbidden import."""


class Unusable(StrEnum):
    """Why a submission cannot be graded as handed in."""

    NOT_FOUND = "not_found"
    INVALID_NOTEBOOK = "invalid_notebook"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Refused:
    """Intake (of one submission or of a class) cannot hand over a notebook to grade."""

    reason: Unusable
    said: Said

    @classmethod
    def of(cls, reason: Unusable, phrase: Phrase, **fields: object) -> Refused:
        return cls(reason, Said(phrase, fields))


@dataclass(frozen=True)
class GraderFailed:
    """Grading failed for a reason that is not the submission's (a sandbox that cannot start a
    kernel, a worker that died): a grader error, which a batch regrades on its next run."""

    said: Said


@dataclass(frozen=True)
class Interrupted:
    """Grading was stopped before it finished (Ctrl-C, a signal); nothing was scored."""

    said: Said


@dataclass(frozen=True)
class StaticOutcome:
    """What the code cells import and define, read without running them."""

    forbidden: Mapping[str, int] = field(default_factory=dict)
    """Forbidden module → index of the first cell importing it."""
    missing: tuple[str, ...] = ()
    """Required names defined neither under their own name nor an accepted alias."""
    defined: tuple[str, ...] = ()
    syntax_errors: Mapping[int, str] = field(default_factory=dict)
    """Cell index → ``line N: message``."""


class Stop(StrEnum):
    """Why the run of a notebook ended before its last cell; the kernel is then unusable."""

    CELL_TIME_LIMIT = "cell_time_limit"
    TOTAL_TIME_LIMIT = "total_time_limit"
    KERNEL_DIED = "kernel_died"
    OUT_OF_MEMORY = "out_of_memory"
    PROTOCOL_BROKEN = "protocol_broken"
    """The kernel broke the Jupyter protocol (a forged key, garbage on a channel)."""


@dataclass(frozen=True)
class RunOutcome:
    """How running the notebook ended."""

    stop: Stop | None = None
    """None: every code cell ran (some may have raised)."""
    cell: int | None = None
    """Index of the cell that was running when it stopped; None: the grader's setup code."""
    cell_head: str = ""
    seconds_limit: float = 0.0
    """The limit that was passed (time limits)."""
    detail: str = ""
    """What broke (protocol errors)."""
    cell_errors: tuple[CellError, ...] = ()
    seconds: float = 0.0

    @property
    def completed(self) -> bool:
        return self.stop is None

    @property
    def blocked_import(self) -> CellError | None:
        """The first cell error raised by the kernel's import blocker."""
        return next((e for e in self.cell_errors if e.ename == FORBIDDEN_IMPORT_ERROR), None)


@dataclass(frozen=True)
class TestsOutcome:
    """Whether the tests could reach the kernel (they run either way, for the points of what
    needs no kernel and to count hidden tests)."""

    __test__ = False  # not a pytest class

    unreachable: str = ""
    """Why the bridge could not start; empty when it could (or no kernel was usable)."""


@dataclass(frozen=True)
class AppStart:
    """How a web app's start ended (``pipeline/services/ready.py`` watches it): answered HTTP
    (``ready``), exited, or neither within ``timeout`` seconds."""

    ready: bool
    exited: bool = False
    exit_code: int | None = None
    out_of_memory: bool = False
    egress: tuple[str, ...] = ()
    """Hosts the app tried to reach (the sandbox has no network)."""
    log_tail: str = ""
    port: int = 0
    timeout: float = 0.0
