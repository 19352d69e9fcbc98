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

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

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
        owner, _, attr = name.rpartition(".") if on_object else ("", "", name)
        others = [t for t in (tried or []) if t != attr]
        what = f"the notebook does not define '{name}'"
        if on_object:
            what = f"{owner} has no attribute or method '{attr}'"
        if others:
            what += f" (nor {', '.join(repr(t) for t in others)})"
        public = [d for d in defined if not d.startswith("_")] or defined
        shown = ", ".join(public[:30]) + (", …" if len(public) > 30 else "") or "nothing"
        near = difflib.get_close_matches(attr, defined, n=3, cutoff=0.6)
        hint = f"{'it' if on_object else 'the notebook'} has: {shown}"
        if near:
            hint += f"; did you mean {' or '.join(repr(n) for n in near)}?"
        super().__init__(what, hint=hint)
        self.name = name
        self.defined = defined
        self.tried = tried or []
        self.near = near


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
