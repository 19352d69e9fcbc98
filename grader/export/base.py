"""What every export needs: the reviewed results of a batch, a roster, the feedback files.

Reports are rebuilt first (``grade report``), so the gradebook, the feedback and the export
all come from the same results with the same review decisions applied.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from grader.batch.store import BatchInfo, Store, Stored
from grader.errors import GraderError
from grader.report.build import Reports, build_reports
from grader.review.apply import with_reviews

ROSTER_COLUMNS = ("email", "idnumber", "username")
"""Optional roster columns besides ``student``: how the LMS knows the student."""


@dataclass(frozen=True)
class Export:
    dest: Path
    files: list[Path]
    warnings: list[str] = field(default_factory=list)


@dataclass
class Batch:
    """A batch output folder with its reports rebuilt and reviews applied."""

    out: Path
    info: BatchInfo
    reports: Reports
    roster: dict[str, dict[str, str]]
    warnings: list[str] = field(default_factory=list)

    def results(self) -> Iterator[Stored]:
        for stored in Store(self.out).results():
            yield with_reviews(stored, self.info, self.warnings)

    def ids(self, student: str) -> dict[str, str]:
        """The student's roster entry (empty when the roster lacks them)."""
        return self.roster.get(student, {})


def open_batch(out: Path, *, roster: Path | None) -> Batch:
    reports = build_reports(out, histogram=False)
    batch = Batch(out, reports.info, reports, read_roster(roster) if roster else {})
    batch.warnings += reports.warnings
    if batch.roster:
        missing = [s for s in Store(out).students() if s not in batch.roster]
        if missing:
            batch.warnings.append(f"not in the roster: {', '.join(missing[:20])}")
    return batch


def read_roster(path: Path) -> dict[str, dict[str, str]]:
    """``student`` (the folder name in the batch output) → email / idnumber / username."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise GraderError(f"cannot read the roster {path}: {exc}") from exc
    if not rows or "student" not in rows[0]:
        raise GraderError(
            f"the roster {path} has no 'student' column",
            hint="columns: student, and any of " + ", ".join(ROSTER_COLUMNS),
        )
    return {
        r["student"].strip(): {k: (r.get(k) or "").strip() for k in ROSTER_COLUMNS if r.get(k)}
        for r in rows
        if (r.get("student") or "").strip()
    }


def copy_feedback(batch: Batch, dest: Path) -> list[Path]:
    """Each student's feedback.html and feedback.md, as ``dest/feedback/<student>.*``."""
    folder = dest / "feedback"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for student in Store(batch.out).students():
        for suffix in ("html", "md"):
            source = batch.out / student / f"feedback.{suffix}"
            if source.is_file():
                target = folder / f"{student}.{suffix}"
                shutil.copyfile(source, target)
                written.append(target)
    return written
