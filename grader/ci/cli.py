"""``grade ci`` and ``grade ci init``: parse, call :mod:`grader.ci`, print, pick the exit code.

Exit codes of ``grade ci``: 0 every submission planned was graded (whatever its points); 1 a
policy refused something (a change outside the pusher's folder, a symbolic link, points below
``--fail-below``); 2 grading could not run (not in CI, unknown assignment, git failed, hidden
tests refused in an untrusted job, a grader error). Output is plain text: annotations are
workflow commands that must start their line, and nothing may reflow or colour them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from grader.ci.annotations import PER_LEVEL
from grader.ci.outcome import CIRun, Graded
from grader.ci.plan import Layout
from grader.ci.publish import publish, publish_failure
from grader.ci.run import CIOptions, public_max, run_ci
from grader.ci.templates import render, write
from grader.ci.text import one_line
from grader.errors import GraderError
from grader.results import Status
from grader.sandbox.choose import Backend

ci_app = typer.Typer(
    help="Grade in the CI of a submissions repository (GitHub Actions, GitLab CI); docs/ci.md.",
    no_args_is_help=False,
)


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _fail(message: str, code: int = 2) -> NoReturn:
    sys.stderr.write(f"grade ci: error: {one_line(message, 2000)}\n")
    raise typer.Exit(code)


@ci_app.callback(invoke_without_command=True)
def ci(
    ctx: typer.Context,
    assignment: Annotated[
        str | None, typer.Option("--assignment", "-a", help="Assignment id (required).")
    ] = None,
    layout: Annotated[
        Layout,
        typer.Option(help="classroom: one repository per student; class-repo: one folder each."),
    ] = Layout.CLASSROOM,
    submissions: Annotated[
        str | None,
        typer.Option(
            help="classroom: the notebook (default: the spec's file name); "
            "class-repo: a pattern with {student} (default submissions/{student})."
        ),
    ] = None,
    student: Annotated[
        str | None, typer.Option(help="classroom: the student's name (default: the repository's).")
    ] = None,
    roster: Annotated[
        str | None, typer.Option(help="class-repo: CSV login,folder,role of who owns which folder.")
    ] = None,
    hidden: Annotated[
        bool, typer.Option(help="Run hidden tests too: only in a trusted job (docs/ci.md).")
    ] = False,
    trusted_repo: Annotated[
        list[str] | None,
        typer.Option(
            help="A repository students cannot push to (repeatable; or $GRADER_TRUSTED_REPOS)."
        ),
    ] = None,
    allow_unconfined: Annotated[
        bool, typer.Option(help="Let --backend local run next to hidden tests (trusted code only).")
    ] = False,
    backend: Annotated[Backend, typer.Option(help="Where notebooks run.")] = Backend.DOCKER,
    out: Annotated[Path, typer.Option(help="Output folder (upload it as an artifact).")] = Path(
        "grade-ci"
    ),
    course: Annotated[
        Path | None, typer.Option(help="Folder holding assignments/ (default: the repository).")
    ] = None,
    fail_below: Annotated[
        str | None,
        typer.Option(help="Exit 1 when a submission gets fewer points: a number, or a percentage."),
    ] = None,
    annotations: Annotated[
        int, typer.Option(min=0, max=PER_LEVEL, help="Annotations per level (GitHub shows 10).")
    ] = PER_LEVEL,
) -> None:
    """Grade what this push changed; write the summary, annotations, JUnit and results."""
    if ctx.invoked_subcommand is not None:
        return
    if not assignment:
        _fail("--assignment is required (e.g. grade ci --assignment gd_backprop)")
    threshold = _threshold(fail_below)
    options = CIOptions(
        assignment=assignment,
        layout=layout,
        submissions=submissions,
        student=student,
        roster=roster,
        hidden=hidden,
        trusted=tuple(trusted_repo or ()),
        allow_unconfined=allow_unconfined,
        backend=backend,
        out=out,
        course=course,
        per_level=annotations,
    )
    try:
        run = run_ci(environ=os.environ, options=options, on_graded=_progress)
        max_score = public_max(run.spec) if layout is Layout.CLASSROOM else None
        published = publish(run, out=out, per_level=annotations, max_score=max_score)
    except GraderError as exc:
        publish_failure(os.environ, layout=layout, message=str(exc))
        _fail(str(exc))
    for line in published.lines:
        say(line)
    say(f"grade ci: results in {out}/ (ci.json, step-summary.md, junit.xml, one folder each)")
    raise typer.Exit(_verdict(run, threshold))


def _progress(g: Graded) -> None:
    r = g.result
    say(
        f"grade ci: {one_line(g.student, 100)}: {r.points:g} / {r.max_points:g} points, "
        f"{r.status.value}"
    )


def _threshold(text: str | None) -> tuple[float, bool] | None:
    """(value, is_percentage) from '12' or '60%'."""
    if text is None:
        return None
    raw = text.strip().removesuffix("%")
    try:
        value = float(raw)
    except ValueError:
        _fail(f"--fail-below {text!r} is not a number or a percentage (e.g. 6 or 60%)")
    return value, text.strip().endswith("%")


def _below(g: Graded, threshold: tuple[float, bool]) -> bool:
    value, percent = threshold
    r = g.result
    limit = value / 100 * r.max_points if percent else value
    return r.points < limit


def _verdict(run: CIRun, threshold: tuple[float, bool] | None) -> int:
    """Say what decides the exit code, and return it."""
    if run.refused and run.trust is not None:
        say(
            "grade ci: hidden tests refused in this job: "
            + one_line("; ".join(run.trust.reasons), 2000)
        )
        return 2
    broken = [g for g in run.graded if g.result.status is Status.GRADER_ERROR]
    if broken:
        say(f"grade ci: the grader failed on {len(broken)} submission(s); re-run the job")
        return 2
    low = [g for g in run.graded if threshold is not None and _below(g, threshold)]
    if low:
        say(f"grade ci: below --fail-below: {', '.join(one_line(g.student, 60) for g in low[:20])}")
    if run.plan.violations:
        say(f"grade ci: {len(run.plan.violations)} change(s) refused (see the summary)")
    return 1 if run.plan.violations or low else 0


@ci_app.command("init")
def init(
    assignment: Annotated[str, typer.Option("--assignment", "-a", help="Assignment id.")],
    layout: Annotated[Layout, typer.Option(help="classroom or class-repo.")],
    gitlab: Annotated[bool, typer.Option("--gitlab", help="Write .gitlab-ci.yml.")] = False,
    root: Annotated[Path, typer.Option(help="The repository to write into.")] = Path("."),
    requirement: Annotated[
        str | None,
        typer.Option(help="What pip installs (default: this grader's version, e.g. dl-grader==X)."),
    ] = None,
    submissions: Annotated[
        str | None,
        typer.Option(help="class-repo: pattern with {student}; classroom: the notebook."),
    ] = None,
    roster: Annotated[str, typer.Option(help="class-repo: the roster file.")] = "roster.csv",
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write the CI workflow of a layout, pinned to this grader's version."""
    try:
        extra = {"requirement": requirement} if requirement else {}
        if layout is Layout.CLASS_REPO:
            extra["submissions"] = submissions or "submissions/{student}"
        elif submissions:
            extra["submission"] = submissions
        workflow = render(
            layout=layout, gitlab=gitlab, assignment=assignment, roster=roster, **extra
        )
        path = write(workflow, root=root, force=force)
    except GraderError as exc:
        _fail(str(exc))
    say(f"wrote {path}")
    if layout is Layout.CLASS_REPO:
        say(f"commit it with {roster} (login,folder,role); see docs/ci.md")
