"""When each submission was handed in, from a source the student cannot set where there is one.

In order of trust (the gradebook's ``submitted_from`` column says which was used):

* ``manifest``: the LMS's export, or push times recorded by the server (``--manifest``;
  ``grade ci`` records ``push``, the server's time of the push event);
* ``git-arrival``: when the file's last commit reached this repository, from its reflog (a push
  received by the server's repository, a fetch or pull into the instructor's clone); the
  student's clock plays no part, so a backdated ``GIT_COMMITTER_DATE`` changes nothing;
* ``file``: the file's modification time in the class folder (its arrival there, or the time
  the LMS wrote into its export);
* ``git-committer``: the last resort, for commits that came with the repository's first state
  (its clone), which the reflog cannot date: the committer date, which the student sets, never
  later than the clone. Flagged in the gradebook.

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
    """Time of the last commit touching every file under a folder, with where it came from."""

    def __init__(self, folder: Path) -> None:
        self.times: dict[Path, tuple[datetime, str]] = {}
        self.root = _git_root(folder)
        if self.root is not None:
            self._load(folder)

    def _load(self, folder: Path) -> None:
        assert self.root is not None
        where = str(folder.resolve())
        out = _git(
            self.root, "log", "--format=%x00%H %cI", "--name-only", "--no-renames", "--", where
        )
        arrived = _arrivals(self.root)
        when: tuple[datetime, str] | None = None
        for line in out.splitlines():
            if line.startswith("\x00"):
                sha, _, date = line[1:].partition(" ")
                when = _dated(sha, parse_time(date), arrived)
            elif line and when is not None:
                self.times.setdefault((self.root / line).resolve(), when)

    def of(self, path: Path) -> tuple[datetime, str] | None:
        """(time, source) of the latest commit touching ``path`` (a file, or any file inside a
        folder); source is ``git-arrival`` or ``git-committer``."""
        if not self.times:
            return None
        path = path.resolve()
        if path in self.times:
            return self.times[path]
        inside = [t for p, t in self.times.items() if p.is_relative_to(path)]
        return max(inside) if inside else None


def _dated(
    sha: str, committed: datetime | None, arrived: dict[str, tuple[datetime, bool]]
) -> tuple[datetime, str] | None:
    """When commit ``sha`` counts as handed in: its arrival, else its (capped) committer date."""
    seen = arrived.get(sha)
    if seen is not None and seen[1]:
        return seen[0], "git-arrival"
    if committed is None:
        return None
    if seen is not None:  # came with the first state: no later than that
        return min(committed, seen[0]), "git-committer"
    return committed, "git-committer"


MAX_REFLOG = 5000
"""Reflog entries read (newest first); older commits fall back to their committer date."""


def _arrivals(root: Path) -> dict[str, tuple[datetime, bool]]:
    """Commit → (when it first became reachable from HEAD in this repository, whether an earlier
    state existed then). Read from HEAD's reflog, oldest entry first."""
    out = _git(root, "reflog", "show", "--date=unix", "--format=%H %gd", "-n", str(MAX_REFLOG))
    entries = []
    for line in reversed(out.splitlines()):
        sha, _, selector = line.partition(" ")
        stamp = selector[selector.find("{") + 1 : selector.rfind("}")]
        if stamp.isdigit():
            entries.append((sha, datetime.fromtimestamp(int(stamp)).astimezone()))
    arrived: dict[str, tuple[datetime, bool]] = {}
    tips: list[str] = []
    for index, (sha, moment) in enumerate(entries):
        if sha in tips:
            continue
        revs = "\n".join([sha, *(f"^{t}" for t in tips)]) + "\n"
        for commit in _git(root, "rev-list", "--stdin", stdin=revs).split():
            arrived.setdefault(commit, (moment, index > 0))
        tips.append(sha)
    return arrived


def _git(root: Path, *args: str, stdin: str | None = None) -> str:
    """Output of ``git -C root args``; empty when git fails (no repository, no commits)."""
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


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
