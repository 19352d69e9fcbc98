"""Intake of a class: one entry per student from a folder, named notebooks or an LMS zip.

Layouts accepted (they may be mixed in one folder):

* one sub-folder per student (``ivanov/hw.ipynb`` plus any files),
* notebooks named by student (``ivanov.ipynb``), or one zip per student (``ivanov.zip``),
* a zip exported from an LMS holding either of the above (a single wrapping folder is
  skipped; Moodle's ``Name_123_assignsubmission_file_`` folder names are shortened).

Nothing here runs or parses student code. Entries that cannot be graded (two submissions for
one student, a file that is no notebook, a manifest row without a file) carry a verdict instead.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import unicodedata
import zipfile
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from grader import files
from grader.batch.timestamps import GitTimes, ManifestRow, file_time, read_manifest
from grader.errors import GraderError, SubmissionError
from grader.results import Status

GRADABLE_SUFFIXES = {".ipynb", ".zip"}
IGNORED_SUFFIXES = {".csv", ".md", ".txt", ".json", ".log", ".html", ".xml", ".tsv"}
IGNORED_NAMES = {"__MACOSX", "Thumbs.db", "desktop.ini"}
RESERVED = {"gradebook.csv", "gradebook.json", "junit.xml", "histogram.png", "summary.md"}
MAX_CLASS_ZIP_BYTES = 8 * 1024**3
MAX_CLASS_ZIP_MEMBERS = 100_000
_MOODLE = re.compile(r"_assignsubmission_[A-Za-z]+_?$")


@dataclass(frozen=True)
class Entry:
    """One student's submission as found on disk."""

    student: str
    source: Path | None
    """What to grade (file, folder or zip); None when there is nothing to grade."""
    submitted_at: datetime | None = None
    time_from: str = ""
    """Where ``submitted_at`` came from: manifest, git-arrival, file, git-committer (set by the
    student), or empty (see ``grader.batch.timestamps``)."""
    verdict: Status | None = None
    """Set when the entry cannot be graded; ``message`` says why."""
    message: str = ""
    sources: tuple[Path, ...] = ()


@dataclass(frozen=True)
class ClassIntake:
    root: Path
    entries: list[Entry]
    ignored: list[str]


def student_id(name: str) -> str:
    """A safe folder name for a student: letters (any script), digits, ``._-``."""
    text = unicodedata.normalize("NFC", name).strip()
    text = _MOODLE.sub("", text)
    text = re.sub(r"[^\w.\-]+", "_", text)
    text = re.sub(r"_{2,}", "_", text).strip("._-")[:80] or "unnamed"
    return text + "_" if text.lower() in RESERVED else text


def read_class(submissions: Path, *, manifest: Path | None, scratch: Path) -> ClassIntake:
    """Every student found in ``submissions`` (a folder or an LMS zip), sorted by id."""
    root = _class_root(submissions, scratch)
    found, ignored = _scan(root, skip={manifest.resolve()} if manifest else set())
    rows = read_manifest(manifest) if manifest else []
    entries, superseded = _merge(found, rows, root)
    ignored += superseded
    git = GitTimes(root) if submissions.is_dir() else None
    entries = [_with_time(e, git) for e in entries]
    return ClassIntake(root=root, entries=sorted(entries, key=lambda e: e.student), ignored=ignored)


def _class_root(submissions: Path, scratch: Path) -> Path:
    if submissions.is_dir():
        return submissions
    if submissions.is_file() and zipfile.is_zipfile(submissions):
        return _descend(extract_class(submissions, scratch / "class"))
    what = "does not exist" if not submissions.exists() else "is neither a folder nor a zip"
    raise GraderError(
        f"{submissions} {what}",
        hint="give a folder with one notebook or folder per student, or an LMS zip",
    )


def extract_class(archive: Path, target: Path) -> Path:
    """Extract an LMS zip safely (no absolute paths, '..', symlinks; bounded), keeping times."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if (
                len(members) > MAX_CLASS_ZIP_MEMBERS
                or sum(m.file_size for m in members) > MAX_CLASS_ZIP_BYTES
            ):
                raise GraderError(
                    f"{archive.name} is too large to unpack",
                    hint="split the class into smaller archives",
                )
            for info in members:
                _extract_member(zf, info, target)
    except (zipfile.BadZipFile, OSError) as exc:
        raise GraderError(
            f"cannot unpack {archive}: {exc}", hint="download the archive from the LMS again"
        ) from exc
    return target


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    name = Path(info.filename)
    if files.check_name(info.filename) or (info.external_attr >> 28) == 0xA:
        return  # outside the archive, a link, too deep or too long a name: not extracted
    if "__MACOSX" in name.parts:
        return
    path = Path(zf.extract(info, target))
    if not info.is_dir():
        stamp = time.mktime((*info.date_time, 0, 0, -1))
        os.utime(path, (stamp, stamp))


def _descend(root: Path) -> Path:
    """Skip folders that only wrap the class: a lone sub-folder holding more than one
    notebook (a lone folder with one notebook is a class of one student)."""
    while True:
        children = [p for p in root.iterdir() if not _junk(p)]
        if len(children) == 1 and children[0].is_dir() and _notebooks(children[0]) != 1:
            root = children[0]
            continue
        return root


def _notebooks(folder: Path) -> int:
    """Notebooks in ``folder`` (links count too); -1 when it is too large to tell."""
    try:
        return sum(
            1
            for e in files.walk(folder)
            if e.path.name.endswith(".ipynb") and ".ipynb_checkpoints" not in e.relative.parts
        )
    except SubmissionError:
        return -1


def _junk(path: Path) -> bool:
    return path.name.startswith(".") or path.name in IGNORED_NAMES


def _scan(root: Path, *, skip: set[Path]) -> tuple[list[Entry], list[str]]:
    found, ignored = [], []
    for path in sorted(root.iterdir()):
        plain = files.kind(path) in ("file", "dir")
        if (
            _junk(path)
            or (plain and path.resolve() in skip)
            or (files.kind(path) == "file" and path.suffix.lower() in IGNORED_SUFFIXES)
        ):
            ignored.append(path.name)
            continue
        found.append(_entry(path))
    return found, ignored


def _entry(path: Path) -> Entry:
    student = student_id(path.name if files.kind(path) == "dir" else path.stem)
    verdict, message = _refusal(path)
    return Entry(student=student, source=path, verdict=verdict, message=message, sources=(path,))


def _refusal(path: Path) -> tuple[Status | None, str]:
    why = files.refusal(path)  # links (to the reference, to /dev/zero), devices, FIFOs
    if why:
        return Status.INVALID_NOTEBOOK, why
    if not os.access(path, os.R_OK):
        return Status.INVALID_NOTEBOOK, f"{path.name} cannot be read (permissions)"
    if path.is_file() and path.suffix.lower() not in GRADABLE_SUFFIXES:
        return Status.INVALID_NOTEBOOK, (
            f"{path.name} is not a notebook (.ipynb), a folder or a zip; submit the notebook itself"
        )
    return None, ""


def _merge(
    found: list[Entry], rows: list[ManifestRow], root: Path
) -> tuple[list[Entry], list[str]]:
    """Manifest rows name their student, file and time; other entries of a student the
    manifest names are superseded; the rest of the folder is kept as found."""
    by_path = {_where(e.source): e for e in found if e.source is not None}
    entries = [_from_row(row, root, by_path) for row in rows]
    claimed = {_where(e.source) for e in entries if e.source is not None}
    listed = {e.student for e in entries}
    rest = [e for path, e in by_path.items() if path not in claimed]
    entries += [e for e in rest if e.student not in listed]
    superseded = [e.source.name for e in rest if e.student in listed and e.source is not None]
    groups: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        groups[e.student].append(e)
    return [g[0] if len(g) == 1 else _duplicate(g) for g in groups.values()], superseded


def _from_row(row: ManifestRow, root: Path, by_path: dict[Path, Entry]) -> Entry:
    student = student_id(row.student or Path(row.file).stem)
    path = (root / row.file) if row.file else None
    outside = path is not None and not _where(path).is_relative_to(root.resolve())
    if path is None or outside or files.kind(path) == "missing":
        return Entry(
            student=student,
            source=None,
            submitted_at=row.submitted_at,
            time_from="manifest" if row.submitted_at else "",
            verdict=Status.NOT_FOUND,
            message=f"the manifest (line {row.line}) names {row.file or 'no file'}, "
            "which is not in the submissions",
        )
    seen = by_path.get(_where(path)) or _entry(path)
    return replace(
        seen,
        student=student,
        submitted_at=row.submitted_at,
        time_from="manifest" if row.submitted_at else "",
    )


def _where(path: Path) -> Path:
    """``path`` with its folders resolved but not itself: a link stays a link (two links to
    one reference are two submissions, each refused)."""
    return path.parent.resolve() / path.name


def _duplicate(group: list[Entry]) -> Entry:
    paths = tuple(p for e in group for p in e.sources)
    names = ", ".join(p.name for p in paths) or f"{len(group)} manifest rows"
    return Entry(
        student=group[0].student,
        source=None,
        verdict=Status.DUPLICATE,
        message=f"{len(group)} submissions for this student ({names}); none was "
        "graded: keep one, or list the one to grade in --manifest",
        sources=paths,
    )


def _with_time(entry: Entry, git: GitTimes | None) -> Entry:
    if entry.submitted_at is not None or entry.source is None or entry.verdict is not None:
        return entry
    committed = git.of(entry.source) if git is not None else None
    if committed is not None:
        return replace(entry, submitted_at=committed[0], time_from=committed[1])
    try:
        return replace(entry, submitted_at=file_time(entry.source), time_from="file")
    except OSError:
        return entry
