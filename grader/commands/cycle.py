"""``grade review OUT`` and ``grade export OUT --to ...`` (registered in ``grader.cli``)."""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from grader.commands.common import assignment_named, fail
from grader.errors import GraderError
from grader.export.publish import Target, export_grades
from grader.master import assign as derive_files
from grader.report.build import build_reports
from grader.review.board import open_board
from grader.review.server import ReviewServer

console = Console()

OutArg = Annotated[Path, typer.Argument(help="Output folder of `grade batch`.")]


def review(
    out: OutArg,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1; 0 picks a free one.")] = 0,
    browser: Annotated[bool, typer.Option(help="Open the page in the default browser.")] = True,
    similarity: Annotated[
        bool, typer.Option(help="Compare the students' code (a signal shown beside answers).")
    ] = True,
) -> None:
    """Review written answers question by question in a local web page; reports follow."""
    try:
        board = open_board(out, similarity=similarity)
        server = ReviewServer(board, port=port)
    except (GraderError, OSError) as exc:
        fail(exc if isinstance(exc, GraderError) else GraderError(f"cannot serve: {exc}"))
    console.print(f"review page: {server.url}", highlight=False, markup=False)
    console.print("only this address, with this token, can see or change decisions; Ctrl-C stops")
    if browser:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    try:
        reports = build_reports(out)
    except GraderError as exc:
        fail(exc)
    console.print(f"reports rebuilt with the decisions: {', '.join(p.name for p in reports.files)}")


def export(
    out: OutArg,
    to: Annotated[Target, typer.Option("--to", help="What the LMS imports.")],
    dest: Annotated[
        Path | None, typer.Option(help="Folder to write into; default OUT/export-<format>.")
    ] = None,
    roster: Annotated[
        Path | None,
        typer.Option(help="CSV: student, and email/idnumber/username as the LMS knows them."),
    ] = None,
) -> None:
    """Publish the reviewed grades and each student's feedback for Moodle, Gradescope or CSV."""
    try:
        done = export_grades(out, to=to, dest=dest or out / f"export-{to.value}", roster=roster)
    except GraderError as exc:
        fail(exc)
    for warning in done.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    console.print(f"wrote {len(done.files)} files into {done.dest}", highlight=False)


def assign(
    assignment: Annotated[str, typer.Argument(help="Assignment id, or the assignment's folder.")],
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if a derived file is stale.")
    ] = False,
) -> None:
    """Derive template, reference solution and component points from master.ipynb."""
    try:
        spec = assignment_named(assignment)
        reference = spec.root.parent.parent / "reference_solutions" / f"{spec.id}.ipynb"
        done = derive_files(spec, reference=reference, write=not check)
    except GraderError as exc:
        fail(exc)
    for item in done:
        state = ("stale" if check else "written") if item.changed else "up to date"
        console.print(f"{state}: {item.path}", highlight=False, markup=False)
    raise typer.Exit(1 if check and any(i.changed for i in done) else 0)
