"""Intake: find the notebook in what was submitted, hash it, check it is a usable notebook.

Accepts a ``.ipynb`` file, a folder holding one notebook, or a zip holding one notebook.
Anything unusable raises :class:`SubmissionError` whose ``status`` is the verdict.
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

from grader import files
from grader.errors import SubmissionError
from grader.results import Status

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

    Nothing submitted is followed: a link, device or FIFO is refused (see ``grader.files``).
    """
    what = files.kind(given)
    if what == "missing":
        raise SubmissionError(
            f"{given} does not exist", status=Status.NOT_FOUND, hint="check the path"
        )
    if what in ("link", "other"):
        raise _invalid(files.refusal(given), "submit the notebook file itself")
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
    if links:
        raise _invalid(files.refusal(links[0]), "submit the notebook file itself, not a link")
    found.sort()
    named = [p for p in found if p.name == preferred]
    if len(named) == 1 or len(found) == 1:
        return (named or found)[0]
    if not found:
        raise SubmissionError(
            f"no .ipynb file in {folder}",
            status=Status.NOT_FOUND,
            hint=f"submit your notebook as {preferred}",
        )
    listing = ", ".join(p.name for p in found[:10])
    raise SubmissionError(
        f"{len(found)} notebooks in {folder} ({listing}); cannot tell which one to grade",
        status=Status.INVALID_NOTEBOOK,
        hint=f"leave only one, or name it {preferred}",
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
        raise _invalid(
            files.refusal(path) or f"{path.name} cannot be read ({exc.strerror})",
            "submit the notebook file itself",
        ) from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _invalid(f"{path.name} is not a regular file", "submit the notebook file itself")
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
        raise _invalid(
            f"{archive.name} is a damaged zip ({type(exc).__name__}: {str(exc)[:200]})",
            "make the zip again (or submit the notebook itself)",
        ) from None
    return target


def _members(archive: Path, zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The members to extract, after checking the whole archive against the limits."""
    members = zf.infolist()
    if len(members) > files.MAX_ENTRIES:
        raise _invalid(
            f"{archive.name} holds {len(members)} files (limit {files.MAX_ENTRIES})",
            "zip only the notebook and the files it needs",
        )
    keep, total = [], 0
    for info in members:
        why = files.check_name(info.filename)
        if why.startswith("leaves") or (info.external_attr >> 28) == 0xA:
            continue  # zip slip and links: never extracted
        if why:
            raise _invalid(
                f"{archive.name}: member {info.filename[:80]!r}... has {why}",
                "zip only the notebook and the files it needs, with short names",
            )
        total += info.file_size
        if total > MAX_ZIP_BYTES:
            raise _invalid(
                f"{archive.name} unpacks to more than {MAX_ZIP_BYTES >> 20} MiB",
                "zip only the notebook and the files it needs",
            )
        keep.append(info)
    return keep


def read_notebook(path: Path) -> tuple[NotebookNode, str]:
    """Parse and validate a notebook; returns it with the SHA-256 of its bytes."""
    raw = files.read_regular(path, max_bytes=MAX_NOTEBOOK_BYTES)
    digest = hashlib.sha256(raw).hexdigest()
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise _invalid(
            f"{path.name} is not valid JSON ({exc})",
            "the file is damaged; download it again from Jupyter/Colab (File → Download .ipynb)",
        ) from None
    return _as_v4(data, path.name), digest


def _as_v4(data: object, name: str) -> NotebookNode:
    major = data.get("nbformat") if isinstance(data, dict) else None
    if major != 4:
        raise _invalid(
            f"{name} has nbformat version {major!r}, expected 4",
            "open it in a current Jupyter or Colab and save it again",
        )
    try:
        nb: NotebookNode = rejoin_lines(nbformat.from_dict(data))
    except (AttributeError, KeyError, TypeError) as exc:  # cells that are not cells
        raise _invalid(
            f"{name} is not a valid notebook ({type(exc).__name__}: {exc})",
            "open it in Jupyter or Colab and save it again",
        ) from None
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError:
        nb = _without_outputs(nb)  # outputs are never graded; editors often mangle them
        try:
            nbformat.validate(nb)
        except nbformat.ValidationError as exc:
            raise _invalid(
                f"{name} is not a valid notebook: {exc.message}",
                "open it in Jupyter or Colab and save it again",
            ) from None
    if not any(c.cell_type == "code" and c.source.strip() for c in nb.cells):
        raise _invalid(f"{name} has no code", "is this the right notebook?")
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


def _invalid(message: str, hint: str) -> SubmissionError:
    return SubmissionError(message, status=Status.INVALID_NOTEBOOK, hint=hint)


def intake(given: Path, *, preferred: str, scratch: Path) -> Submission:
    path, folder = find_notebook(given, preferred=preferred, scratch=scratch)
    nb, digest = read_notebook(path)
    return Submission(path=path, folder=folder, nb=nb, sha256=digest)
