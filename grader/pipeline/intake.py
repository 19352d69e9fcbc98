"""Intake: find the notebook in what was submitted, hash it, check it is a usable notebook.

Accepts a ``.ipynb`` file, a folder holding one notebook, or a zip holding one notebook.
Anything unusable raises :class:`SubmissionError` whose ``status`` is the verdict.
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
    """(notebook, folder) for a file, folder or zip; zips are extracted into ``scratch``."""
    if not given.exists():
        raise SubmissionError(
            f"{given} does not exist", status=Status.NOT_FOUND, hint="check the path"
        )
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
                raise SubmissionError(
                    f"{archive.name} unpacks to more than {MAX_ZIP_BYTES >> 20} MiB",
                    status=Status.INVALID_NOTEBOOK,
                )
            zf.extract(info, target)
    return target


def read_notebook(path: Path) -> tuple[NotebookNode, str]:
    """Parse and validate a notebook; returns it with the SHA-256 of its bytes."""
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise _invalid(
            f"{path.name} is {size >> 20} MiB (limit {MAX_NOTEBOOK_BYTES >> 20} MiB)",
            "clear the outputs (Edit → Clear all outputs) and save again",
        )
    raw = path.read_bytes()
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
