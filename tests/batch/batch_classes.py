"""Helpers of the batch tests: a course with the tiny assignment (short timeouts, a late policy)
and classes assembled from the fixture notebooks. A module of its own (not ``conftest``, whose
name every test folder's conftest shares) so that test files import it by a unique name."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOTEBOOKS = FIXTURES / "notebooks"
TINY = FIXTURES / "assignments" / "tiny"

LATE_POLICY = """
[late]
deadline = 2026-10-01T23:59:00+03:00
grace_minutes = 60
per = "day"
penalty = 0.25
max_penalty = 0.5
"""

ClassMaker = Callable[..., Path]


def make_course(root: Path, *, cell_timeout: float = 2, total_timeout: float = 20) -> Path:
    """``root/assignments/tiny``: the tiny assignment with short limits and a late policy."""
    folder = root / "assignments" / "tiny"
    shutil.copytree(TINY, folder)
    spec = folder / "assignment.toml"
    text = spec.read_text(encoding="utf-8")
    text = text.replace("total_timeout = 30", f"total_timeout = {total_timeout}")
    text = text.replace("cell_timeout = 10", f"cell_timeout = {cell_timeout}")
    spec.write_text(text.replace("[resources]", LATE_POLICY + "\n[resources]"), encoding="utf-8")
    return folder


def fixture_nb(rel: str) -> Path:
    """A fixture notebook by outcome folder and name, e.g. ``graded/full_marks``."""
    path = NOTEBOOKS / f"{rel}.ipynb"
    assert path.is_file(), path
    return path


def build_class(folder: Path, members: dict[str, str | Path]) -> Path:
    """``{"ivanov.ipynb": "graded/full_marks", "petrov/hw.ipynb": ..., "x.txt": Path}``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, what in members.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        source = what if isinstance(what, Path) else fixture_nb(what)
        shutil.copyfile(source, target)
    return folder
