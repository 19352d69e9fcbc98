"""Exceptions raised by the grader.

One root, fields instead of wording (tests compare fields)::

    GraderError
    ├── SpecError              assignment.toml is wrong (file, field, fix)
    ├── AssignmentNotFound     no assignment with that id / cannot guess one
    ├── SubmissionError        the submission is unusable (``refused`` says why)
    ├── SandboxError           a sandbox backend cannot start (Docker down, image missing)
    └── BridgeError            a value could not cross the kernel/host boundary
        ├── RemoteError        the student's code raised inside the kernel
        ├── MissingName        the notebook does not define a required name
        ├── BridgeTimeout      a call into the kernel ran past its time limit
        └── PayloadRejected    a value from the kernel is malformed or too large

Submission-level verdicts (timeout, out of memory, crashed kernel) are not exceptions:
stages report typed outcomes (``grader.core.outcomes``) and ``grader.core.verdict`` decides
the status of :class:`grader.core.results.GradeResult`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from grader.core.messages import missing_name, near_names

if TYPE_CHECKING:
    from grader.core.outcomes import Refused


class GraderError(Exception):
    """Root of every error the grader raises on purpose."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint or self.hint

    def __str__(self) -> str:
        return f"{self.message}\n  → {self.hint}" if self.hint else self.message


class SpecError(GraderError):
    """An assignment spec cannot be loaded."""

    def __init__(self, message: str, *, file: Path, field: str = "", hint: str = "") -> None:
        where = f"{file}" + (f", field '{field}'" if field else "")
        super().__init__(f"{where}: {message}", hint=hint)
        self.file = file
        self.field = field


class AssignmentNotFound(GraderError):
    """The assignment id is unknown or could not be inferred."""

    def __init__(self, message: str, *, known: list[str], hint: str = "") -> None:
        known_txt = ", ".join(known) or "none"
        super().__init__(
            f"{message} (known assignments: {known_txt})",
            hint=hint or "pass --assignment ID",
        )
        self.known = known


class SubmissionError(GraderError):
    """The submission cannot be graded; ``refused`` says why (the verdict decides the status).

    The message is the refusal said in English; results say it in the course's language."""

    def __init__(self, refused: Refused) -> None:
        message, _, hint = refused.said("en").partition("\n  → ")
        super().__init__(message, hint=hint)
        self.refused = refused


class SandboxError(GraderError):
    """A sandbox backend is unavailable or failed to start a kernel."""


class BridgeError(GraderError):
    """A value could not be exchanged with the kernel."""


class RemoteError(BridgeError):
    """Code in the kernel raised; ``type`` is the exception class name there."""

    def __init__(self, message: str, *, type: str, target: str) -> None:
        super().__init__(f"{target} raised {type}: {message}")
        self.type = type
        self.target = target


class MissingName(BridgeError):
    """The notebook does not define a name the tests need."""

    def __init__(
        self,
        name: str,
        *,
        defined: list[str],
        tried: list[str] | None = None,
        on_object: bool = False,
    ) -> None:
        tried = tried or []
        what, hint = missing_name("en", name, defined=defined, tried=tried, on_object=on_object)
        super().__init__(what, hint=hint)
        self.name = name
        self.defined = defined
        self.tried = tried
        self.near = near_names(name.rpartition(".")[2] if on_object else name, defined)
        self.on_object = on_object


class BridgeTimeout(BridgeError):
    """A call into the kernel did not finish in time."""

    def __init__(self, target: str, *, seconds: float) -> None:
        super().__init__(f"{target} did not finish within {seconds:g} s")
        self.target = target
        self.seconds = seconds


class PayloadRejected(BridgeError):
    """A value sent back by the kernel was refused (too big, too deep, not data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"value from the notebook rejected: {reason}")
        self.reason = reason
