"""The sandbox's working folder: a fresh copy of what was submitted, never the original."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from grader.pipeline.intake import Submission

MAX_COPY_BYTES = 200 * 1024 * 1024


def prepare(submission: Submission, scratch: Path, *, notebook_name: str) -> Path:
    """Copy the submission's files (no symlinks, bounded size) into ``scratch/work``."""
    work = scratch / "work"
    work.mkdir(mode=0o777)
    if submission.folder is not None:
        _copy_tree(submission.folder, work)
    (work / notebook_name).write_bytes(submission.path.read_bytes())
    os.chmod(work, 0o777)  # a non-root sandbox user must be able to write here
    return work


def _copy_tree(src: Path, dst: Path) -> None:
    budget = MAX_COPY_BYTES
    for root, dirs, files in os.walk(src, followlinks=False):
        rel = Path(root).relative_to(src)
        dirs[:] = [d for d in dirs if not (Path(root) / d).is_symlink() and d != ".git"]
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            path = Path(root) / name
            if path.is_symlink() or not path.is_file() or path.suffix == ".ipynb":
                continue
            budget -= path.stat().st_size
            if budget < 0:
                return
            shutil.copyfile(path, dst / rel / name)
