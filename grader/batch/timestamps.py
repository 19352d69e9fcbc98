"""When each submission was handed in: a manifest, else git commit time, else file time.

Every time returned here is timezone-aware (naive times are read as the machine's local time),
so the late policy can compare it with the deadline.
"""

from __future__ import annotations

import csv
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from grader import files
from grader.errors import GraderError, SubmissionError

MANIFEST_COLUMNS = ("student", "file", "submitted_at")


@dataclass(frozen=True)
class ManifestRow:
    student: str
    file: str
    submitted_at: datetime | None
    line: int


def aware(moment: datetime) -> datetime:
    """``moment`` with a timezone; a naive one is taken as local time."""
    return moment if moment.tzinfo is not None else moment.astimezone()


def parse_time(text: str) -> datetime | None:
    """ISO 8601 (``2026-10-01T23:59:00+03:00``, ``2026-10-01 23:59``) or empty → None."""
    text = text.strip()
    if not text:
        return None
    return aware(datetime.fromisoformat(text.replace("Z", "+00:00")))


def read_manifest(path: Path) -> list[ManifestRow]:
    """Rows of a manifest CSV with the columns student, file, submitted_at."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in MANIFEST_COLUMNS[:2] if c not in (reader.fieldnames or [])]
            if missing:
                raise GraderError(
                    f"{path}: the manifest has no column {', '.join(missing)}",
                    hint="the header must be: student,file,submitted_at",
                )
            return [_row(path, n, raw) for n, raw in enumerate(reader, start=2)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise GraderError(
            f"cannot read the manifest {path}: {exc}",
            hint="give a UTF-8 CSV file: student,file,submitted_at",
        ) from exc


def _row(path: Path, line: int, raw: dict[str, str | None]) -> ManifestRow:
    when = (raw.get("submitted_at") or "").strip()
    try:
        moment = parse_time(when)
    except ValueError as exc:
        raise GraderError(
            f"{path}, line {line}: submitted_at {when!r} is not a date-time",
            hint="use ISO 8601, e.g. 2026-10-01T23:59:00+03:00",
        ) from exc
    return ManifestRow(
        student=(raw.get("student") or "").strip(),
        file=(raw.get("file") or "").strip(),
        submitted_at=moment,
        line=line,
    )


class GitTimes:
    """Last commit time of every file under a folder, read with one ``git log``."""

    def __init__(self, folder: Path) -> None:
        self.times: dict[Path, datetime] = {}
        self.root = _git_root(folder)
        if self.root is not None:
            self._load(folder)

    def _load(self, folder: Path) -> None:
        assert self.root is not None
        try:
            out = subprocess.run(
                [
                    "git",
                    "-C",
                    str(self.root),
                    "log",
                    "--format=%x00%cI",
                    "--name-only",
                    "--no-renames",
                    "--",
                    str(folder.resolve()),
                ],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return
        moment: datetime | None = None
        for line in out.splitlines():
            if line.startswith("\x00"):
                moment = parse_time(line[1:])
            elif line and moment is not None:
                self.times.setdefault((self.root / line).resolve(), moment)

    def of(self, path: Path) -> datetime | None:
        """Latest commit touching ``path`` (a file, or any file inside a folder)."""
        if not self.times:
            return None
        path = path.resolve()
        if path in self.times:
            return self.times[path]
        inside = [t for p, t in self.times.items() if p.is_relative_to(path)]
        return max(inside) if inside else None


def _git_root(folder: Path) -> Path | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out.stdout.strip()).resolve() if out.returncode == 0 else None


def file_time(path: Path) -> datetime:
    """Modification time of a file, or the newest file inside a folder."""
    times = [path.lstat().st_mtime]
    if files.kind(path) == "dir":
        times = [t for t in map(_mtime, _files(path)) if t is not None] or times
    return datetime.fromtimestamp(max(times)).astimezone()


def _files(folder: Path) -> list[Path]:
    """Regular files of a submitted folder (no hidden ones; none if it is over the limits)."""
    try:
        return [
            e.path
            for e in files.walk(folder)
            if e.kind == "file" and not any(p.startswith(".") for p in e.relative.parts)
        ]
    except SubmissionError:
        return []


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None
