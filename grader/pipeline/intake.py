"""Intake: find the notebook in what was submitted, hash it, check it is a usable notebook.

Accepts a ``.ipynb`` file, a folder holding one notebook, or a zip holding one notebook.
:func:`intake` returns the :class:`Submission` or a typed :class:`Refused` saying why not (the
helpers raise :class:`SubmissionError` carrying it).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4.rwbase import rejoin_lines

from grader.core.errors import SubmissionError
from grader.core.lang import Phrase
from grader.core.messages import Refusals as R
from grader.core.outcomes import Refused, Unusable

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
    """(notebook, folder) for a file, folder or zip; zips are extracted into ``scratch``."""
    if not given.exists():
        raise SubmissionError(Refused.of(Unusable.NOT_FOUND, R.path_missing, path=given))
    if given.is_dir():
        return _pick(given, preferred), given
    if zipfile.is_zipfile(given):
        folder = _extract(given, scratch)
        return _pick(folder, preferred), folder
    return given, None


def _pick(folder: Path, preferred: str) -> Path:
    found = sorted(
        p
        for p in folder.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts and "__MACOSX" not in p.parts
    )
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


def _extract(archive: Path, scratch: Path) -> Path:
    """Extract safely: no absolute paths, no '..', no symlinks, bounded size."""
    target = scratch / "unzipped"
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf:
        total = 0
        for info in zf.infolist():
            name = Path(info.filename)
            if name.is_absolute() or ".." in name.parts or (info.external_attr >> 28) == 0xA:
                continue
            total += info.file_size
            if total > MAX_ZIP_BYTES:
                raise _invalid(R.zip_too_big, name=archive.name, limit_mib=MAX_ZIP_BYTES >> 20)
            zf.extract(info, target)
    return target


def read_notebook(path: Path) -> tuple[NotebookNode, str]:
    """Parse and validate a notebook; returns it with the SHA-256 of its bytes."""
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise _invalid(
            R.too_large, name=path.name, size_mib=size >> 20, limit_mib=MAX_NOTEBOOK_BYTES >> 20
        )
    raw = path.read_bytes()
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
