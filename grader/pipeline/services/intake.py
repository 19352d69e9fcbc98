"""Intake of a web-app submission: a folder (or zip) with the app's entry file, or a notebook
that defines the app, copied into a fresh folder for the sandbox. Nothing here runs it."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

from grader.core.errors import SubmissionError
from grader.core.messages import Apps
from grader.core.messages import Refusals as R
from grader.core.outcomes import Refused, Unusable
from grader.core.spec import Service
from grader.pipeline import files
from grader.pipeline.intake import _extract, _open_regular, read_notebook

SKIPPED_DIRS = {".git", "__pycache__", ".ipynb_checkpoints", "__MACOSX", ".venv", "venv"}


def intake_app(given: Path, service: Service, scratch: Path) -> tuple[Path, str]:
    """(the sandbox's copy of the app, SHA-256 of its files) or a SubmissionError verdict."""
    source = _source(given, scratch)
    work = scratch / "app"
    work.mkdir(parents=True)
    if source.is_dir():
        _copy(_root(source, service.entry), work, service.max_submission_mb << 20)
    elif source.suffix == ".py":
        shutil.copyfile(source, work / service.entry)
    elif source.suffix != ".ipynb":
        raise SubmissionError(
            Refused.of(Unusable.NOT_FOUND, Apps.not_an_app, name=given.name, entry=service.entry)
        )
    if not (work / service.entry).is_file():
        _from_notebook(source, work, service.entry)
    return work, _digest(work)


def _source(given: Path, scratch: Path) -> Path:
    """The folder or file to take the app from; a zip is extracted; links are refused."""
    what = files.kind(given)
    if what == "missing":
        raise SubmissionError(Refused.of(Unusable.NOT_FOUND, R.path_missing, path=given))
    why = files.refusal(given)
    if why is not None:
        raise files.refused(why, Apps.folder_itself)
    if what == "dir":
        return given
    with _open_regular(given) as fh:
        return _extract(given, fh, scratch) if zipfile.is_zipfile(fh) else given


def _root(folder: Path, entry: str) -> Path:
    """The folder holding the entry file: the submission itself, or its single sub-folder."""
    if (folder / entry).is_file():
        return folder
    inner = [p for p in folder.iterdir() if p.is_dir() and p.name not in SKIPPED_DIRS]
    if len(inner) == 1 and (inner[0] / entry).is_file():
        return inner[0]
    return folder


def _from_notebook(source: Path, work: Path, entry: str) -> None:
    """The notebook's code cells, with installs and magics dropped, become the entry file."""
    notebooks = [source] if source.is_file() else sorted(work.glob("*.ipynb"))
    if not notebooks:
        where = source.name
        missing = Refused.of(Unusable.NOT_FOUND, Apps.no_entry, name=where, entry=entry)
        raise SubmissionError(missing)
    nb, _ = read_notebook(notebooks[0])
    lines = [
        line
        for cell in nb.cells
        if cell.cell_type == "code"
        for line in _without_magics(cell.source).splitlines()
    ]
    future = [line for line in lines if line.startswith("from __future__ import")]
    rest = [line for line in lines if line not in future]
    (work / entry).write_text("\n".join([*future, *rest]) + "\n", encoding="utf-8")


def _without_magics(source: str) -> str:
    """``!shell`` and ``%magic`` lines dropped (``pass`` where indented, to keep blocks whole)."""
    out = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("!", "%")):
            if stripped != line:
                out.append(line[: len(line) - len(stripped)] + "pass")
            continue
        out.append(line)
    return "\n".join(out)


def _copy(src: Path, dst: Path, budget: int) -> None:
    """Regular files only (links, devices and FIFOs are left out), at most ``budget`` bytes."""
    for entry in files.walk(src):
        if set(entry.relative.parts) & SKIPPED_DIRS:
            continue
        target = dst / entry.relative
        if entry.kind == "dir":
            target.mkdir(parents=True, exist_ok=True)
        elif entry.kind == "file":
            budget -= entry.size
            if budget < 0:
                too_big = Refused.of(Unusable.INVALID_NOTEBOOK, Apps.too_large, path=entry.relative)
                raise SubmissionError(too_big)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(files.read_regular(entry.path, max_bytes=entry.size + 1))


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
