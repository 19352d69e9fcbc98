"""``grade release ID --out DIR``: the student kit (registered in ``grader.cli``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from grader.commands.common import assignment_named, fail
from grader.errors import GraderError
from grader.release import DEFAULT_INSTALL, build_kit

console = Console()


def release(
    assignment: Annotated[str, typer.Argument(help="Assignment id, or the assignment's folder.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for <id>/ and <id>.zip.")],
    install: Annotated[
        str, typer.Option(help="What students `pip install` to get the grader (README, Colab).")
    ] = DEFAULT_INSTALL,
    url: Annotated[
        str, typer.Option(help="Where <id>.zip will be published (for the Colab cell).")
    ] = "",
) -> None:
    """Write the student kit: template, public tests and data, README; nothing hidden."""
    try:
        spec = assignment_named(assignment)
        kit = build_kit(spec, out=out, install=install, url=url)
    except GraderError as exc:
        fail(exc)
    console.print(f"wrote {kit.folder} ({len(kit.files)} files) and {kit.archive}", highlight=False)
    for name in kit.files:
        console.print(f"  {name}", highlight=False, markup=False)
    per = ", ".join(f"{c}: {p:g}" for c, p in sorted(kit.hidden_points.items())) or "none"
    console.print(
        f"left out: tests/hidden ({kit.hidden_tests} tests; points {per}), hidden data, "
        "rubrics, reference solution, sample submissions",
        highlight=False,
    )
