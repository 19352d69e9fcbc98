"""Intake: find the notebook in what was submitted, hash it, check it is a usable notebook.

Accepts a ``.ipynb`` file, a folder holding one notebook, or a zip holding one notebook.
:func:`intake` returns the :class:`Submission` or a typed :class:`Refused` saying why not (the
helpers raise :class:`SubmissionError` carrying it).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import nbformat
from nbformat import NotebookNode
from nbformat.v4.rwbase import rejoin_lines

from grader.core.errors import SubmissionError
from grader.core.lang import Phrase, Said
from grader.core.messages import Files as F
from grader.core.messages import Refusals as R
from grader.core.outcomes import Refused, Unusable
from grader.pipeline import files

MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
MAX_ZIP_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class Submission:
    path: Path
    """The notebook file (inside the extracted copy for zips)."""
    folder: Path | None
    """Folder submitted with the notebook (copied into the sandbox); None for a lone file."""
    nb: NotebookNode
    sha256: str


def find_notebook(given: Path, *, preferred: str, scratch: Path) -> tuple[Path, Path | None]:
    """(notebook, folder) for a file, folder or zip; zips are extracted into ``scratch``.

    Nothing submitted is followed: a link, device or FIFO is refused (see ``files.py``).
    """
    what = files.kind(given)
    if what == "missing":
        raise SubmissionError(Refused.of(Unusable.NOT_FOUND, R.path_missing, path=given))
    why = files.refusal(given)
    if why is not None:
        raise files.refused(why, F.file_itself)
    if what == "dir":
        return _pick(given, preferred), given
    with _open_regular(given) as fh:
        if zipfile.is_zipfile(fh):
            folder = _extract(given, fh, scratch)
            return _pick(folder, preferred), folder
    return given, None


def _pick(folder: Path, preferred: str) -> Path:
    found, links = [], []
    for entry in files.walk(folder):
        if not entry.path.name.endswith(".ipynb") or _skipped(entry.relative):
            continue
        if entry.kind == "file":
            found.append(entry.path)
        elif entry.kind != "dir":
            links.append(entry.path)
    why = files.refusal(links[0]) if links else None
    if why is not None:
        raise files.refused(why, F.file_itself)
    found.sort()
    named = [p for p in found if p.name == preferred]
    if len(named) == 1 or len(found) == 1:
        return (named or found)[0]
    if not found:
        raise SubmissionError(
            Refused.of(Unusable.NOT_FOUND, R.no_notebook, folder=folder, preferred=preferred)
        )
    listing = ", ".join(p.name for p in found[:10])
    raise _invalid(
        R.many_notebooks, count=len(found), folder=folder, listing=listing, preferred=preferred
    )


def _skipped(relative: Path) -> bool:
    return ".ipynb_checkpoints" in relative.parts or "__MACOSX" in relative.parts


@contextmanager
def _open_regular(path: Path) -> Iterator[BinaryIO]:
    """``path`` opened for reading only if it is a regular file (never blocks, never follows)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        why = files.refusal(path) or Said.of(F.unreadable, name=path.name, error=exc.strerror)
        raise files.refused(why, F.file_itself) from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise files.refused(Said.of(F.not_a_file, name=path.name), F.file_itself)
        yield fh


_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    RuntimeError,  # encrypted members
    NotImplementedError,  # unknown compression
    ValueError,
    zlib.error,
)


def _extract(archive: Path, fh: BinaryIO, scratch: Path) -> Path:
    """Extract safely: no absolute paths, '..' or links; bounded in entries, depth, name length
    and size. A damaged archive (bad CRC, truncated) is a verdict, not an error of the grader."""
    target = scratch / "unzipped"
    target.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(fh) as zf:
            for info in _members(archive, zf):
                zf.extract(info, target)
    except SubmissionError:
        raise
    except _ZIP_ERRORS as exc:
        error = f"{type(exc).__name__}: {str(exc)[:200]}"
        raise _invalid(F.damaged_zip, name=archive.name, error=error) from None
    return target


def _members(archive: Path, zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The members to extract, after checking the whole archive against the limits."""
    members = zf.infolist()
    if len(members) > files.MAX_ENTRIES:
        many = Said.of(
            F.zip_members, name=archive.name, count=len(members), limit=files.MAX_ENTRIES
        )
        raise files.refused(many, F.only_needed)
    keep, total = [], 0
    for info in members:
        if files.leaves(info.filename) or (info.external_attr >> 28) == 0xA:
            continue  # zip slip and links: never extracted
        why = files.check_name(info.filename)
        if why is not None:
            raise _invalid(F.bad_member, name=archive.name, member=info.filename[:80], why=why)
        total += info.file_size
        if total > MAX_ZIP_BYTES:
            raise _invalid(R.zip_too_big, name=archive.name, limit_mib=MAX_ZIP_BYTES >> 20)
        keep.append(info)
    return keep


def read_notebook(path: Path) -> tuple[NotebookNode, str]:
    """Parse and validate a notebook; returns it with the SHA-256 of its bytes."""
    raw = files.read_regular(path, max_bytes=MAX_NOTEBOOK_BYTES)
    digest = hashlib.sha256(raw).hexdigest()
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise _invalid(R.not_json, name=path.name, error=exc) from None
    return _as_v4(data, path.name), digest


def _as_v4(data: object, name: str) -> NotebookNode:
    major = data.get("nbformat") if isinstance(data, dict) else None
    if major != 4:
        raise _invalid(R.wrong_format, name=name, major=repr(major))
    try:
        nb: NotebookNode = rejoin_lines(nbformat.from_dict(data))
    except (AttributeError, KeyError, TypeError) as exc:  # cells that are not cells
        raise _invalid(R.not_a_notebook, name=name, error=f"{type(exc).__name__}: {exc}") from None
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError:
        nb = _without_outputs(nb)  # outputs are never graded; editors often mangle them
        try:
            nbformat.validate(nb)
        except nbformat.ValidationError as exc:
            raise _invalid(R.not_a_notebook, name=name, error=exc.message) from None
    if not any(c.cell_type == "code" and c.source.strip() for c in nb.cells):
        raise _invalid(R.no_code, name=name)
    return nb


def _without_outputs(nb: NotebookNode) -> NotebookNode:
    """Drop outputs; only called on a notebook that failed validation, so check every step."""
    minor = nb.get("nbformat_minor", 0)
    for cell in nb.get("cells", []):
        if not isinstance(cell, dict):
            continue
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        if isinstance(minor, int) and minor < 5:
            cell.pop("id", None)
    return nb


def _invalid(phrase: Phrase, **fields: object) -> SubmissionError:
    return SubmissionError(Refused.of(Unusable.INVALID_NOTEBOOK, phrase, **fields))


def intake(given: Path, *, preferred: str, scratch: Path) -> Submission | Refused:
    """The notebook to grade, or why there is none."""
    try:
        path, folder = find_notebook(given, preferred=preferred, scratch=scratch)
        nb, digest = read_notebook(path)
    except SubmissionError as exc:
        return exc.refused
    return Submission(path=path, folder=folder, nb=nb, sha256=digest)
