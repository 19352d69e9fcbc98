"""Cache keys: a submission is regraded only when what decides its grade has changed.

key = sha256(submission bytes (notebook + other files) · assignment fingerprint (assignment.toml,
tests/**, data/**) · grader version · hidden flag · submission time).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path

from grader import __version__, files
from grader.errors import SubmissionError
from grader.spec import SPEC_FILE, Assignment

_SKIP_DIRS = {
    "__pycache__",
    ".ipynb_checkpoints",
    ".pytest_cache",
    ".git",
    ".mypy_cache",
    ".ruff_cache",
    "__MACOSX",
}
_CHUNK = 1 << 20


def _files(folder: Path, *, follow: bool) -> list[Path]:
    """Files under ``folder``, sorted; symlinks followed only when ``follow``."""
    out = []
    for root, dirs, names in os.walk(folder, followlinks=follow):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        out += [Path(root) / n for n in names if not n.endswith((".pyc", ".pyo"))]
    return sorted(out)


def _feed(h: hashlib._Hash, path: Path, name: str, *, follow: bool = True) -> None:
    h.update(name.encode() + b"\0")
    with open(path, "rb", opener=None if follow else _no_follow) as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    h.update(b"\0")


def _no_follow(path: str, flags: int) -> int:
    """Open without following a final link or blocking on a FIFO (the caller checked)."""
    return os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK)


def assignment_fingerprint(spec: Assignment) -> str:
    """Hash of the spec, every test file and every data file of the assignment."""
    h = hashlib.sha256()
    _feed(h, spec.root / SPEC_FILE, SPEC_FILE)
    for base in _roots(spec):
        for path in _files(base, follow=True):
            _feed(h, path, os.path.relpath(path, spec.root.resolve()))
    return h.hexdigest()


def _roots(spec: Assignment) -> list[Path]:
    """tests/, data/ and the spec's test and data folders, none inside another."""
    named = {
        "tests",
        "data",
        spec.tests.public,
        spec.tests.hidden,
        spec.data.public,
        spec.data.hidden,
    }
    dirs = sorted({spec.path(n).resolve() for n in named if spec.path(n).is_dir()})
    return [d for d in dirs if not any(d != o and d.is_relative_to(o) for o in dirs)]


def submission_digest(source: Path) -> str:
    """Hash of what was submitted: the file, or every regular file of the folder with its name
    (never following a link; a tree over the intake's limits hashes to what refuses it)."""
    h = hashlib.sha256()
    try:
        if files.kind(source) == "dir":
            for entry in files.walk(source):
                if entry.kind == "file" and not _SKIP_DIRS & set(entry.relative.parts):
                    _feed(h, entry.path, entry.relative.as_posix(), follow=False)
        elif files.kind(source) == "file":
            _feed(h, source, source.name, follow=False)
    except (SubmissionError, OSError) as exc:
        h.update(f"refused: {exc}".encode())
    return h.hexdigest()


def cache_key(
    *, submission: str, assignment: str, hidden: bool, submitted_at: datetime | None
) -> str:
    """The key stored beside a result; equal keys mean the same grade."""
    parts = {
        "submission": submission,
        "assignment": assignment,
        "grader": __version__,
        "hidden": hidden,
        "submitted_at": submitted_at.isoformat() if submitted_at else None,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
