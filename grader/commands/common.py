"""What every command module needs: the assignment named on the command line, and failing."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console

from grader.errors import GraderError
from grader.locate import course_root
from grader.spec import SPEC_FILE, Assignment, find_assignment, load_assignment

err = Console(stderr=True)


def assignment_named(given: str) -> Assignment:
    """An assignment id (from the course's assignments/) or an assignment's folder."""
    folder = Path(given)
    if (folder / SPEC_FILE).is_file():
        return load_assignment(folder)
    return find_assignment(given, course_root() / "assignments")


def fail(exc: GraderError) -> NoReturn:
    """Print the error and its hint; exit 2 (the command could not run)."""
    err.print(f"[bold red]error:[/] {exc}", highlight=False)
    raise typer.Exit(2)
