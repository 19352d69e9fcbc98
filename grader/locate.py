"""Finding things on disk: the course folder, an assignment for a notebook, sample submissions."""

from __future__ import annotations

import json
import os
from pathlib import Path

from grader.errors import AssignmentNotFound
from grader.spec import SPEC_FILE, Assignment, known_assignments, load_assignment

METADATA_KEY = "dl_grader"
"""Notebook metadata key the templates carry: ``{"dl_grader": {"assignment": "gd_backprop"}}``."""


def course_root(*starts: Path) -> Path:
    """The folder holding ``assignments/``: $GRADER_COURSE, else the nearest one above the
    current directory, else above each of ``starts``."""
    env = os.environ.get("GRADER_COURSE")
    if env:
        return Path(env).resolve()
    for start in (Path.cwd(), *starts):
        here = start.resolve()
        for folder in (here, *here.parents):
            if (folder / "assignments").is_dir():
                return folder
    here = Path.cwd()
    raise AssignmentNotFound(
        f"no assignments/ folder in {here} or above",
        known=[],
        hint="run from the course folder, or set GRADER_COURSE=/path/to/course",
    )


def assignment_for(notebook: Path, *, given: str | None, course: Path) -> Assignment:
    """The assignment named by ``given``, the notebook's metadata, or its file name."""
    root = course / "assignments"
    known = known_assignments(root)
    chosen = given or _from_metadata(notebook) or _from_name(notebook, root, known)
    if chosen is None:
        raise AssignmentNotFound(
            f"cannot tell which assignment {notebook.name} is for", known=known
        )
    if chosen not in known:
        raise AssignmentNotFound(f"no assignment '{chosen}' in {root}", known=known)
    return load_assignment(root / chosen)


def enclosing_assignment(notebook: Path, *, given: str | None) -> Assignment | None:
    """The assignment whose ``assignment.toml`` lies in or above the notebook's folder or the
    current folder: an unpacked student kit (any folder name), or a course's assignment folder.
    None when there is none, or when ``given`` names another assignment."""
    for start in (notebook.resolve().parent, Path.cwd().resolve()):
        folder = next((f for f in (start, *start.parents) if (f / SPEC_FILE).is_file()), None)
        if folder is not None:
            spec = load_assignment(folder, named_by_folder=False)
            return spec if given in (None, spec.id) else None
    return None


def _from_metadata(notebook: Path) -> str | None:
    if not notebook.is_file() or notebook.suffix != ".ipynb":
        return None
    try:
        meta = json.loads(notebook.read_bytes()).get("metadata", {})
    except (ValueError, AttributeError, OSError):
        return None
    value = meta.get(METADATA_KEY, {}).get("assignment") if isinstance(meta, dict) else None
    return value if isinstance(value, str) else None


def _from_name(notebook: Path, root: Path, known: list[str]) -> str | None:
    stem = notebook.stem if notebook.suffix else notebook.name
    for assignment_id in known:
        if stem == assignment_id or stem.startswith(assignment_id):
            return assignment_id
    for assignment_id in known:  # the spec's notebook file name
        spec_text = (root / assignment_id / SPEC_FILE).read_text(encoding="utf-8")
        if f'"{notebook.name}"' in spec_text:
            return assignment_id
    return None


def reference_solution(course: Path, assignment_id: str) -> Path:
    folder = course / "reference_solutions" / assignment_id
    return folder if folder.is_dir() else folder.with_suffix(".ipynb")


def samples(course: Path, assignment_id: str) -> list[Path]:
    """Sample submission folders, each with an ``expected.toml``."""
    folder = course / "student_submissions" / assignment_id
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if (p / "expected.toml").is_file())
