"""The sandbox's working folder: a fresh copy of what was submitted, never the original."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from grader import files
from grader.intake import MAX_NOTEBOOK_BYTES, Submission

MAX_COPY_BYTES = 200 * 1024 * 1024


def prepare(submission: Submission, scratch: Path, *, notebook_name: str) -> Path:
    """Copy the submission's files (regular files only, bounded) into ``scratch/work``."""
    work = scratch / "work"
    work.mkdir(mode=0o777)
    if submission.folder is not None:
        _copy_tree(submission.folder, work)
    notebook = files.read_regular(submission.path, max_bytes=MAX_NOTEBOOK_BYTES)
    (work / notebook_name).write_bytes(notebook)
    os.chmod(work, 0o777)  # a non-root sandbox user must be able to write here
    return work


def _copy_tree(src: Path, dst: Path) -> None:
    """Folders and regular files; links, devices, FIFOs, notebooks and ``.git`` are left out."""
    budget = MAX_COPY_BYTES
    for entry in files.walk(src):
        if ".git" in entry.relative.parts:
            continue
        target = dst / entry.relative
        if entry.kind == "dir":
            target.mkdir(parents=True, exist_ok=True)
        elif entry.kind == "file" and entry.path.suffix != ".ipynb":
            budget -= entry.size
            if budget < 0:
                return
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(entry.path, target, follow_symlinks=False)
