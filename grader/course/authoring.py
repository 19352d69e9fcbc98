"""For assignment authors' scripts: write a notebook from its cell texts.

``grade assign`` (:mod:`grader.course.master`) writes templates and reference solutions with
:func:`make_notebook`, and sample builders (detection_ui's ``tools/build_samples.py``) with
:func:`write_notebook`, so they come out alike: no outputs, stable cell ids and the metadata
that lets `grade check` find the assignment.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import nbformat

from grader.course.locate import METADATA_KEY

Cell = tuple[str, str]
"""``("code" | "markdown", source)``."""


def make_notebook(assignment: str, cells: Sequence[Cell]) -> nbformat.NotebookNode:
    """A valid nbformat 4 notebook of ``cells`` with ids ``cell-00``, ``cell-01``, ..."""
    nb: nbformat.NotebookNode = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        METADATA_KEY: {"assignment": assignment},
    }
    for i, (kind, source) in enumerate(cells):
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        cell = make(source.rstrip("\n"))
        cell.id = f"cell-{i:02d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def write_notebook(path: Path, assignment: str, cells: Sequence[Cell]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(make_notebook(assignment, cells), path)
