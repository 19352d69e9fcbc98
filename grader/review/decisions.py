"""Review decisions: ``OUT/<student>/review.json``, beside the student's ``result.json``.

A decision is kept with the SHA-256 of the answer text it was made on. A regrade rewrites
``result.json`` but never this file, so the decision still applies while the text is unchanged;
when the student's text changed, the decision is *stale*: not applied, and shown as such.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from grader.batch.store import write_atomic
from grader.errors import GraderError

REVIEW_FILE = "review.json"
REVIEW_SCHEMA = 1


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Decision(_Frozen):
    """Points a person gave one answer, and why."""

    points: float = Field(ge=0, description="Points given (at most the question's maximum).")
    comment: str = Field("", max_length=5000, description="Shown to the student.")
    answer_sha256: str = Field(description="SHA-256 of the answer text the decision was made on.")
    decided_at: datetime
    reviewer: str = ""


class Review(_Frozen):
    """Every decision for one student, by question id."""

    schema_version: int = REVIEW_SCHEMA
    answers: dict[str, Decision] = Field(default_factory=dict)


class ReviewFileError(GraderError):
    """A ``review.json`` exists but cannot be read: it is never overwritten then."""

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(
            f"{path}: the review decisions cannot be read ({detail})",
            hint="fix or move that file; decisions in it are not applied until then",
        )
        self.path = path


def answer_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def load_review(folder: Path) -> Review:
    """The student's decisions (none when there is no file); raise when the file is corrupt."""
    path = folder / REVIEW_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Review()
    except (OSError, UnicodeDecodeError) as exc:
        raise ReviewFileError(path, str(exc)) from exc
    try:
        return Review.model_validate_json(text)
    except ValidationError as exc:
        raise ReviewFileError(path, str(exc.errors()[0]["msg"])) from exc


def save_decision(folder: Path, question: str, decision: Decision | None) -> Review:
    """Set (or with None, remove) one decision; the file is replaced atomically."""
    review = load_review(folder)
    answers = dict(review.answers)
    if decision is None:
        answers.pop(question, None)
    else:
        answers[question] = decision
    updated = Review(answers=dict(sorted(answers.items())))
    write_atomic(folder / REVIEW_FILE, updated.model_dump_json(indent=2))
    return updated
