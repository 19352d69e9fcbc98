"""``grade release ID --out DIR``: the student kit (registered in ``grader.cli``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from grader.cli import console
from grader.cli.exits import reported
from grader.core.version import DISTRIBUTION


def release(
    assignment: Annotated[str, typer.Argument(help="Assignment id, or the assignment's folder.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for <id>/ and <id>.zip.")],
    install: Annotated[
        str, typer.Option(help="What students `pip install` to get the grader (README, Colab).")
    ] = DISTRIBUTION,
    url: Annotated[
        str, typer.Option(help="Where <id>.zip will be published (for the Colab cell).")
    ] = "",
) -> None:
    """Write the student kit: template, public tests and data, README; nothing hidden."""
    from grader.course.locate import assignment_named
    from grader.course.release import build_kit

    with reported():
        spec = assignment_named(assignment)
        kit = build_kit(spec, out=out, install=install, url=url)
    console.out.print(
        f"wrote {kit.folder} ({len(kit.files)} files) and {kit.archive}", highlight=False
    )
    for name in kit.files:
        console.out.print(f"  {name}", highlight=False, markup=False)
    per = ", ".join(f"{c}: {p:g}" for c, p in sorted(kit.hidden_points.items())) or "none"
    console.out.print(
        f"left out: tests/hidden ({kit.hidden_tests} tests; points {per}), hidden data, "
        "rubrics, reference solution, sample submissions",
        highlight=False,
    )
