"""``grade check`` (one notebook, for students) and ``grade validate`` (an assignment)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from grader.cli import console
from grader.cli.exits import ExitCode, leave, reported
from grader.core.errors import GraderError
from grader.core.results import Status
from grader.report.safe import text
from grader.sandbox.choose import Backend

if TYPE_CHECKING:
    from grader.core.results import GradeResult
    from grader.core.spec import Assignment
    from grader.course.validate import Check
    from grader.pipeline.grading import Options

BackendOpt = Annotated[Backend, typer.Option(help="Where the notebook runs.")]


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
    from grader.course.locate import assignment_for, course_root, enclosing_assignment
    from grader.pipeline.grading import Options
    from grader.report.console import render
    from grader.sandbox.choose import make_sandbox

    with reported():
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
    if json_out:
        print(result.model_dump_json(indent=2))
    else:
        render(result, console.out)
    if result.status is Status.INTERRUPTED:
        leave(ExitCode.INTERRUPTED)
    graded = result.status in (Status.GRADED, Status.MISSING_NAMES)
    leave(ExitCode.OK if graded else ExitCode.NOT_GOOD)


def _check(spec: Assignment, notebook: Path, options: Options) -> GradeResult:
    """Grade under the spec's overall limit; Ctrl-C and the limit give results that say so."""
    from grader.core.lang import Said
    from grader.core.messages import Verdicts
    from grader.core.outcomes import GraderFailed, Interrupted
    from grader.course.release import with_released_pending
    from grader.pipeline.deadline import DeadlineExceeded, deadline
    from grader.pipeline.grading import grade_submission, unfinished

    limit = spec.resources.grading_limit
    found: Interrupted | GraderFailed
    try:
        with deadline(limit, hard_stop=_hard_stop):
            return with_released_pending(spec, grade_submission(spec, notebook, options=options))
    except DeadlineExceeded:
        found = GraderFailed(Said.of(Verdicts.past_overall_limit, seconds=limit))
    except KeyboardInterrupt:
        found = Interrupted(Said.of(Verdicts.interrupted))
    return unfinished(spec, notebook, found, hidden=options.hidden)


def _hard_stop() -> None:
    """Past the limit and its grace: remove what this process started, then it exits."""
    from grader.sandbox.choose import remove_kernels_of

    console.err.print("grading stopped: it ran past its overall time limit", style="bold red")
    remove_kernels_of(os.getpid())


def validate(
    assignment: Annotated[str, typer.Argument(help="Assignment id, e.g. gd_backprop.")],
    backend: BackendOpt = Backend.LOCAL,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Notebooks graded at once, by the batch's workers; default: as `grade batch` "
            "would (cores, memory); 1: one after another in this process.",
        ),
    ] = None,
    sample: Annotated[
        list[str] | None,
        typer.Option(
            "--sample",
            help="Only this sample (its folder's name; repeat for more) beside the reference "
            "and the template: quicker while writing one.",
        ),
    ] = None,
) -> None:
    """Check an assignment: reference gets full marks, template ~0, samples as declared."""
    from grader.batch.many import in_parallel
    from grader.batch.runner import docker_ready
    from grader.core.spec import find_assignment
    from grader.course.locate import course_root
    from grader.course.validate import validate_assignment
    from grader.pipeline.evaluators import Evaluators
    from grader.pipeline.grading import Options
    from grader.sandbox.choose import make_sandbox

    with reported():
        course = course_root()
        spec = find_assignment(assignment, course / "assignments")
        if backend is Backend.DOCKER:  # not one "grader failed" per notebook: say it once
            docker_ready(gpu=False)
        options = Options(sandbox=make_sandbox(backend), evaluators=Evaluators(spec))
        many = None if jobs == 1 else in_parallel(backend, jobs)
        checks = validate_assignment(
            spec,
            course=course,
            options=options,
            on_check=_progress,
            grade_many=many,
            samples=sample or None,
        )
    console.out.print(_checks_table(spec.id, checks))
    leave(ExitCode.OK if all(c.ok for c in checks) else ExitCode.NOT_GOOD)


def _progress(check: Check) -> None:
    mark = Text("✓", "green") if check.ok else Text("✗", "red")
    console.out.print(Text.assemble(mark, " ", text(check.name)))


def _checks_table(assignment_id: str, checks: list[Check]) -> Table:
    table = Table(title=f"grade validate {assignment_id}")
    for col in ("check", "ok", "details"):
        table.add_column(col, overflow="fold")
    for c in checks:
        ok = Text("yes", "green") if c.ok else Text("NO", "red")
        table.add_row(text(c.name), ok, text(c.detail))
    return table
