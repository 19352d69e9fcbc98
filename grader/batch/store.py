"""The output folder of a batch: one folder per student, results written atomically.

::

    OUT/
      .grade-batch.lock           held while a batch runs
      .batch/info.json            the assignment this folder grades (for `grade report`)
      .batch/runs.jsonl           one line per submission finished, per run (an audit log)
      <student>/result.json       the GradeResult (re-validated when read back)
      <student>/batch.json        Record: cache key, source, submission time
      <student>/artifacts/        pictures the tests left for the feedback
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from grader import __version__
from grader.errors import GraderError
from grader.results import GradeResult, Status
from grader.spec import Assignment, LatePolicy

RESULT = "result.json"
RECORD = "batch.json"
ARTIFACTS = "artifacts"
STATE = ".batch"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Record(_Frozen):
    """How a stored result came about; its ``key`` decides whether a rerun may reuse it."""

    student: str
    key: str = Field(description="Cache key of the inputs the result was graded from.")
    source: str = Field("", description="The submission graded (file, folder or zip).")
    submitted_at: datetime | None = None
    time_from: str = Field(
        "", description="manifest, git-arrival, file, git-committer (student-set), or empty."
    )
    graded_at: datetime
    seconds: float = 0.0
    backend: str = ""
    grader: str = __version__
    sticky: bool = Field(
        False,
        description="A grader error a rerun keeps (the grading stalled); --retry-errors retries.",
    )


class ComponentInfo(_Frozen):
    id: str
    title: str
    points: float


class BatchInfo(_Frozen):
    """What the reports need to know about the assignment, stored with the results."""

    assignment: str
    title: str
    version: str
    max_points: float
    components: list[ComponentInfo]
    late: LatePolicy
    assignment_path: str
    updated_at: datetime

    @classmethod
    def of(cls, spec: Assignment) -> BatchInfo:
        return cls(
            assignment=spec.id,
            title=spec.title,
            version=spec.version,
            max_points=spec.max_points,
            components=[
                ComponentInfo(id=c.id, title=c.title, points=c.points) for c in spec.components
            ],
            late=spec.late,
            assignment_path=str(spec.root),
            updated_at=datetime.now().astimezone(),
        )


@dataclass(frozen=True)
class Stored:
    """One student's stored result, read back and re-validated."""

    student: str
    result: GradeResult
    record: Record | None
    folder: Path


def write_atomic(path: Path, text: str, *, durable: bool = True) -> None:
    """Write ``text`` so that a reader sees the old file or the whole new one, never half;
    ``durable`` also flushes it to disk first (results; reports can be rebuilt)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    tmp.replace(path)


def write_report(path: Path, text: str) -> None:
    """A rebuildable file: written atomically, and only when its content changed."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except (OSError, UnicodeDecodeError):
        pass
    write_atomic(path, text, durable=False)


class Store:
    """Reads and writes the results of one output folder."""

    def __init__(self, out: Path) -> None:
        self.out = out

    def folder(self, student: str) -> Path:
        return self.out / student

    def artifacts(self, student: str) -> Path:
        return self.folder(student) / ARTIFACTS

    def state(self) -> Path:
        path = self.out / STATE
        path.mkdir(parents=True, exist_ok=True)
        return path

    def save(self, student: str, result: GradeResult, record: Record) -> None:
        """Result first, then the record holding the key: a crash between them regrades."""
        folder = self.folder(student)
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / RESULT, result.model_dump_json(indent=2))
        write_atomic(folder / RECORD, record.model_dump_json(indent=2))

    def load(self, student: str) -> Stored | None:
        """The stored result, or None when missing, truncated or invalid."""
        folder = self.folder(student)
        try:
            result = GradeResult.read(folder / RESULT)
        except (OSError, ValueError, ValidationError):
            return None
        return Stored(student, result, self._record(folder), folder)

    def _record(self, folder: Path) -> Record | None:
        try:
            return Record.model_validate_json((folder / RECORD).read_text(encoding="utf-8"))
        except (OSError, ValueError, ValidationError):
            return None

    def cached(self, student: str, key: str, *, retry_errors: bool = False) -> bool:
        """A valid result graded from exactly these inputs. Grader errors count only when they
        are stalls (``sticky``: grading them again would stall again) and not ``retry_errors``."""
        folder = self.folder(student)
        record = self._record(folder)
        if record is None or record.key != key:
            return False
        stored = self.load(student)
        if stored is None:
            return False
        if stored.result.status is Status.GRADER_ERROR:
            return record.sticky and not retry_errors
        return True

    def students(self) -> list[str]:
        if not self.out.is_dir():
            return []
        return sorted(
            p.name
            for p in self.out.iterdir()
            if p.is_dir() and not p.name.startswith(".") and (p / RESULT).exists()
        )

    def results(self) -> Iterator[Stored]:
        """Every valid stored result, one at a time (memory stays flat)."""
        for student in self.students():
            stored = self.load(student)
            if stored is not None:
                yield stored

    def invalid(self) -> list[str]:
        """Students whose result.json exists but cannot be read back."""
        return [s for s in self.students() if self.load(s) is None]

    def save_info(self, info: BatchInfo) -> None:
        write_atomic(self.state() / "info.json", info.model_dump_json(indent=2))

    def info(self) -> BatchInfo | None:
        try:
            return BatchInfo.model_validate_json(
                (self.out / STATE / "info.json").read_text(encoding="utf-8")
            )
        except (OSError, ValueError, ValidationError):
            return None

    def require_info(self) -> BatchInfo:
        """:meth:`info`, or an error saying what to run when the folder holds no batch."""
        info = self.info()
        if info is None:
            raise GraderError(
                f"{self.out} holds no batch results (no .batch/info.json)",
                hint="run `grade batch ASSIGNMENT SUBMISSIONS --out OUT` first",
            )
        return info

    def log(self, entry: dict[str, object]) -> None:
        """Append one line to the run log (small, line-buffered, never rewritten)."""
        with (self.state() / "runs.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, default=str) + "\n")

    def clean_temporaries(self, student: str) -> None:
        """Remove half-written files a killed run may have left."""
        folder = self.folder(student)
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)
            for tmp in folder.glob("*.json.tmp"):
                tmp.unlink(missing_ok=True)
