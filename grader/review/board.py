"""What the review page shows: the class's written answers question by question, and the
code similarity pairs; and the one way to change anything, :meth:`Board.decide`.

Built from the stored results alone (plus the spec, for rubrics, when its folder is still
there). Student text is data: control and bidirectional-override characters are made visible
here, and the page only ever sets it as text.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from grader.batch.store import BatchInfo, Store, Stored
from grader.errors import GraderError, SpecError
from grader.intake import intake
from grader.results import AnswerResult, GradeResult
from grader.review.apply import answer_state
from grader.review.decisions import (
    Decision,
    Review,
    ReviewFileError,
    answer_hash,
    load_review,
    save_decision,
)
from grader.similarity import Pair, code_pairs, near_duplicates, notebook_code
from grader.spec import Assignment, load_assignment

TEMPLATE = "template.ipynb"

_INVISIBLE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)


def visible(text: str) -> str:
    """Control, zero-width and direction-override characters shown as ``⟨U+202E⟩``."""
    return _INVISIBLE.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", text)


@dataclass(frozen=True)
class QuestionInfo:
    id: str
    prompt: str
    rubric: str
    max_points: float


@dataclass
class Board:
    """The review of one batch output folder."""

    out: Path
    info: BatchInfo
    spec: Assignment | None
    questions: list[QuestionInfo]
    results: dict[str, GradeResult]
    pairs: list[Pair] = field(default_factory=list)
    codes: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    """Students whose code could not be compared (submission moved or changed)."""

    # ---------------------------------------------------------------- reading
    def state(self) -> dict[str, Any]:
        """Everything the page draws, as JSON-ready data (student text made visible)."""
        return {
            "assignment": {"id": self.info.assignment, "title": self.info.title},
            "questions": [self._question(q) for q in self.questions],
            "pairs": [_pair(p) for p in self.pairs],
            "similarity_skipped": self.skipped,
        }

    def _question(self, q: QuestionInfo) -> dict[str, Any]:
        found = {s: _answer(r, q.id) for s, r in self.results.items()}
        texts = {s: a.text for s, a in found.items() if a is not None}
        similar = near_duplicates(texts, prompt=q.prompt)
        items = [self.item(student, q.id, similar.get(student, [])) for student in sorted(texts)]
        return {**q.__dict__, "prompt": visible(q.prompt), "items": items}

    def item(
        self, student: str, question: str, similar: list[tuple[str, float]] | None = None
    ) -> dict[str, Any]:
        result = self.results[student]
        a = _answer(result, question)
        assert a is not None
        try:
            review, problem = load_review(self.out / student), ""
        except ReviewFileError as exc:
            review, problem = Review(), str(exc)
        state = answer_state(result, a, review)
        d = state.decision
        return {
            "error": problem,
            "student": visible(student),
            "key": student,
            "text": visible(a.text),
            "answered": a.answered,
            "message": visible(a.message),
            "provisional": 0.0 if state.unfinished else a.points,
            "max_points": a.max_points,
            "status": result.status.value,
            "unfinished": state.unfinished,
            "stale": state.stale,
            "decision": None
            if d is None
            else {"points": d.points, "comment": d.comment, "decided_at": d.decided_at.isoformat()},
            "answer_sha256": answer_hash(a.text),
            "similar": [{"student": visible(s), "score": v} for s, v in similar or []],
        }

    def pair_code(self, a: str, b: str) -> dict[str, Any]:
        pair = next((p for p in self.pairs if {p.a, p.b} == {a, b}), None)
        if pair is None:
            raise KeyError(f"no similarity pair {a} / {b}")
        return {
            **_pair(pair),
            "code_a": visible(self.codes.get(pair.a, "")),
            "code_b": visible(self.codes.get(pair.b, "")),
        }

    # ---------------------------------------------------------------- the one write
    def decide(
        self,
        student: str,
        question: str,
        *,
        points: float | None,
        comment: str,
        answer_sha256: str,
        reviewer: str = "",
    ) -> dict[str, Any]:
        """Store (``points`` None: remove) a decision on the answer text the reviewer saw."""
        result = self.results.get(student)
        a = _answer(result, question) if result else None
        if result is None or a is None:
            raise GraderError(f"no answer {question!r} of student {student!r} in {self.out}")
        if answer_sha256 != answer_hash(a.text):
            raise GraderError(
                f"the answer of {student} to {question} changed since the page was loaded",
                hint="reload the page and read the new text",
            )
        decision = None
        if points is not None:
            if not 0 <= points <= a.max_points:
                raise GraderError(f"points must lie in 0..{a.max_points:g}, got {points:g}")
            decision = Decision(
                points=points,
                comment=comment,
                answer_sha256=answer_sha256,
                decided_at=datetime.now().astimezone(),
                reviewer=reviewer,
            )
        save_decision(self.out / student, question, decision)
        return self.item(student, question)


def _answer(result: GradeResult, question: str) -> AnswerResult | None:
    return next((a for a in result.answers if a.id == question and a.max_points > 0), None)


def _pair(p: Pair) -> dict[str, Any]:
    return {
        "a": visible(p.a),
        "b": visible(p.b),
        "key_a": p.a,
        "key_b": p.b,
        "score": p.score,
        "shared": p.shared,
        "lines_a": list(p.lines_a),
        "lines_b": list(p.lines_b),
    }


# ---------------------------------------------------------------- building
def open_board(out: Path, *, similarity: bool = True) -> Board:
    """Read a batch output folder for review."""
    store = Store(out)
    info = store.require_info()
    stored = list(store.results())
    spec = _spec(info)
    board = Board(
        out=out,
        info=info,
        spec=spec,
        questions=_questions(spec, stored),
        results={s.student: s.result for s in stored},
    )
    if similarity:
        board.codes, board.skipped = _codes(stored, spec, info)
        template = _template_code(spec)
        board.pairs = code_pairs(board.codes, template=template)
    return board


def _spec(info: BatchInfo) -> Assignment | None:
    try:
        return load_assignment(Path(info.assignment_path))
    except (SpecError, OSError):
        return None  # moved away: prompts come from the results, no rubric


def _questions(spec: Assignment | None, stored: list[Stored]) -> list[QuestionInfo]:
    """Questions reviewed by people (text questions with points), in the spec's order."""
    if spec is not None:
        return [
            QuestionInfo(q.id, q.prompt, q.rubric, q.points)
            for q in spec.questions
            if q.kind == "text" and q.points > 0
        ]
    seen: dict[str, QuestionInfo] = {}
    for s in stored:
        for a in s.result.answers:
            if a.max_points > 0:
                seen.setdefault(a.id, QuestionInfo(a.id, a.prompt, "", a.max_points))
    return list(seen.values())


def _codes(
    stored: list[Stored], spec: Assignment | None, info: BatchInfo
) -> tuple[dict[str, str], list[str]]:
    """Each student's code, read again from the submission that was graded (same SHA-256)."""
    preferred = spec.notebook if spec else f"{info.assignment}.ipynb"
    codes, skipped = {}, []
    with tempfile.TemporaryDirectory(prefix="grader-review-") as tmp:
        for i, s in enumerate(stored):
            source = s.record.source if s.record else ""
            try:
                sub = intake(Path(source), preferred=preferred, scratch=Path(tmp) / str(i))
            except (GraderError, OSError):
                skipped.append(s.student)
                continue
            if sub.sha256 != s.result.notebook_sha256:
                skipped.append(s.student)
                continue
            codes[s.student] = notebook_code(sub.nb)
    return codes, skipped


def _template_code(spec: Assignment | None) -> str:
    if spec is None:
        return ""
    with tempfile.TemporaryDirectory(prefix="grader-review-") as tmp:
        try:
            sub = intake(spec.path(TEMPLATE), preferred=TEMPLATE, scratch=Path(tmp))
        except (GraderError, OSError):
            return ""
    return notebook_code(sub.nb)
