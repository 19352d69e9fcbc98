"""The ``grade`` command line: parses, calls the library, renders, picks the exit code."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.ci.cli import ci_app
from grader.cli_docker import doctor, image_app, sandbox_app
from grader.deadline import DeadlineExceeded, deadline
from grader.errors import GraderError
from grader.grading import Options, grade_submission, unfinished
from grader.locate import assignment_for, course_root, enclosing_assignment
from grader.release import with_released_pending
from grader.report.console import render
from grader.report.safe import text
from grader.results import GradeResult, Status
from grader.sandbox.choose import Backend, make_sandbox, remove_kernels_of
from grader.spec import Assignment, find_assignment
from grader.validate import Check, validate_assignment

app = typer.Typer(
    help="Grade deep-learning homework notebooks: hidden tests on the host, code in a sandbox.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(image_app, name="image")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(ci_app, name="ci")
app.command("doctor")(doctor)
console = Console()
err = Console(stderr=True)

BackendOpt = Annotated[Backend, typer.Option(help="Where the notebook runs.")]


@app.command()
def check(
    notebook: Annotated[Path, typer.Argument(help="Notebook (.ipynb), folder or zip.")],
    assignment: Annotated[
        str | None,
        typer.Option("--assignment", "-a", help="Assignment id; default: from the notebook."),
    ] = None,
    hidden: Annotated[bool, typer.Option(help="Also run hidden tests (instructors).")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    backend: BackendOpt = Backend.LOCAL,
) -> None:
    """Run the public checks on your notebook and say what is missing before you submit."""
    try:
        spec = enclosing_assignment(notebook, given=assignment) or assignment_for(
            notebook, given=assignment, course=course_root(notebook.resolve().parent)
        )
        if hidden and not spec.path(spec.tests.hidden).is_dir():
            raise GraderError(
                "this copy of the assignment has no hidden tests",
                hint="hidden tests exist only in the instructors' copy",
            )
        options = Options(sandbox=make_sandbox(backend), hidden=hidden)
        result = _check(spec, notebook, options)
    except GraderError as exc:
        _fail(exc)
    if json_out:
        print(result.model_dump_json(indent=2))
    else:
        render(result, console)
    if result.status is Status.INTERRUPTED:
        raise typer.Exit(130)
    raise typer.Exit(0 if result.status in (Status.GRADED, Status.MISSING_NAMES) else 1)


def _check(spec: Assignment, notebook: Path, options: Options) -> GradeResult:
    """Grade under the spec's overall limit; Ctrl-C and the limit give results that say so."""
    limit = spec.resources.grading_limit
    try:
        with deadline(limit, hard_stop=_hard_stop):
            return with_released_pending(spec, grade_submission(spec, notebook, options=options))
    except DeadlineExceeded:
        status, message = (
            Status.GRADER_ERROR,
            (
                f"grading ran past its overall limit of {limit:g} s and was stopped; "
                "nothing was scored: run the notebook from the top yourself to see where it stalls"
            ),
        )
    except KeyboardInterrupt:
        status, message = Status.INTERRUPTED, "interrupted (Ctrl-C): nothing was graded"
    return unfinished(spec, notebook, status=status, message=message, hidden=options.hidden)


def _hard_stop() -> None:
    """Past the limit and its grace: remove what this process started, then it exits."""
    err.print("[bold red]grading stopped: it ran past its overall time limit[/]")
    remove_kernels_of(os.getpid())


@app.command()
def validate(
    assignment: Annotated[str, typer.Argument(help="Assignment id, e.g. gd_backprop.")],
    backend: BackendOpt = Backend.LOCAL,
) -> None:
    """Check an assignment: reference gets full marks, template ~0, samples as declared."""
    try:
        course = course_root()
        spec = find_assignment(assignment, course / "assignments")
        options = Options(sandbox=make_sandbox(backend))
        checks = validate_assignment(spec, course=course, options=options, on_check=_progress)
    except GraderError as exc:
        _fail(exc)
    console.print(_checks_table(spec.id, checks))
    raise typer.Exit(0 if all(c.ok for c in checks) else 1)


def _progress(check: Check) -> None:
    mark = Text("✓", "green") if check.ok else Text("✗", "red")
    console.print(Text.assemble(mark, " ", text(check.name)))


def _checks_table(assignment_id: str, checks: list[Check]) -> Table:
    table = Table(title=f"grade validate {assignment_id}")
    for col in ("check", "ok", "details"):
        table.add_column(col, overflow="fold")
    for c in checks:
        ok = Text("yes", "green") if c.ok else Text("NO", "red")
        table.add_row(text(c.name), ok, text(c.detail))
    return table


def _fail(exc: GraderError) -> typer.Exit:
    err.print(Text.assemble(("error: ", "bold red"), text(exc)))  # may name student files
    raise typer.Exit(2)


from grader.commands.batch import batch, report  # noqa: E402
from grader.commands.cycle import assign, export, review  # noqa: E402
from grader.commands.release import release  # noqa: E402

app.command()(batch)
app.command()(report)
app.command()(release)
app.command()(review)
app.command()(export)
app.command()(assign)


if __name__ == "__main__":  # pragma: no cover
    app()
