"""``grade batch`` (grade a class) and ``grade report`` (rebuild its reports).

Registered in ``grader.cli`` with ``app.command()(batch)`` and ``app.command()(report)``.
Exit codes: 0 done; 1 some submissions hit grader errors or were not finished; 2 the batch
could not run (usage, broken assignment, output folder busy); 130 stopped with Ctrl-C.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from grader.batch.gpus import parse_gpus
from grader.batch.runner import BatchOptions, BatchSummary, run_batch
from grader.errors import GraderError
from grader.locate import course_root
from grader.report.build import Reports, build_reports
from grader.report.progress import BatchProgress
from grader.report.safe import text
from grader.report.summary import render_summary
from grader.sandbox.choose import Backend
from grader.spec import SPEC_FILE, Assignment, find_assignment, load_assignment

console = Console()
err = Console(stderr=True)


def batch(
    assignment: Annotated[
        str,
        typer.Argument(
            help="Assignment id (from the course's assignments/) or the assignment's folder."
        ),
    ],
    submissions: Annotated[
        Path,
        typer.Argument(help="Folder with one notebook, folder or zip per student, or an LMS zip."),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder: results, feedback, gradebook.")
    ],
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", min=1, help="Parallel workers; default: by cores and the spec."
        ),
    ] = None,
    backend: Annotated[
        Backend,
        typer.Option(
            help="Sandbox: docker, or local (runs student code unconfined; only when asked)."
        ),
    ] = Backend.DOCKER,
    gpus: Annotated[
        str | None, typer.Option(help="GPUs to hand to submissions that may use them, e.g. 0,1.")
    ] = None,
    per_gpu: Annotated[
        int, typer.Option("--per-gpu", min=1, help="Submissions at a time on one GPU.")
    ] = 1,
    manifest: Annotated[
        Path | None,
        typer.Option(
            help="CSV with columns student,file,submitted_at (times for the late policy)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Regrade everything, ignoring stored results.")
    ] = False,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Regrade only this student (repeatable); reports are rebuilt."),
    ] = None,
    hidden: Annotated[bool, typer.Option(help="Run the hidden tests too.")] = True,
    retry_errors: Annotated[
        bool,
        typer.Option(
            "--retry-errors", help="Regrade stored grader errors (stalls are kept otherwise)."
        ),
    ] = False,
    worker_memory: Annotated[
        int | None,
        typer.Option(
            "--worker-memory",
            min=256,
            help="MiB a grading worker may use on the host before its submission is stopped.",
        ),
    ] = None,
) -> None:
    """Grade a whole class: parallel, cached, resumable; gradebook and feedback at the end."""
    try:
        spec = _assignment(assignment)
        options = BatchOptions(
            backend=backend,
            jobs=jobs,
            hidden=hidden,
            force=force,
            only=tuple(only or ()),
            manifest=manifest,
            gpus=tuple(parse_gpus(gpus)),
            per_gpu=per_gpu,
            retry_errors=retry_errors,
            worker_memory_mb=worker_memory,
        )
        with BatchProgress(console) as progress:
            summary = run_batch(spec, submissions, out=out, options=options, on_event=progress)
        _print_run(summary)
        if summary.interrupted:
            raise typer.Exit(130)
        if summary.aborted:
            _fail(
                GraderError(
                    f"stopped: {summary.aborted}",
                    hint="fix the cause and run the same command again; finished results are kept",
                )
            )
        reports = build_reports(out)
    except GraderError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        err.print("stopped; finished results are kept — run the same command again to go on")
        raise typer.Exit(130) from None
    _print_reports(reports)
    raise typer.Exit(1 if summary.grader_errors or summary.not_finished else 0)


def report(
    out: Annotated[Path, typer.Argument(help="Output folder of `grade batch`.")],
    histogram: Annotated[bool, typer.Option(help="Also draw histogram.png.")] = True,
) -> None:
    """Rebuild gradebook, feedback, Gradescope and JUnit files from stored results."""
    try:
        reports = build_reports(out, histogram=histogram)
    except GraderError as exc:
        _fail(exc)
    _print_reports(reports)


def _assignment(given: str) -> Assignment:
    folder = Path(given)
    if (folder / SPEC_FILE).is_file():
        return load_assignment(folder)
    return find_assignment(given, course_root() / "assignments")


def _print_run(s: BatchSummary) -> None:
    workers = f" with {s.workers} worker(s)" if s.workers else ""
    console.print(
        f"{s.total} submissions: [green]{s.graded} graded[/], [red]{s.failed} failed"
        f"[/], {s.cached} cached, in {s.seconds:.1f} s{workers}",
        highlight=False,
    )
    # file and student names come from the class folder: printed as Text, never as markup
    if s.ignored:
        console.print(text(f"ignored (not submissions): {', '.join(s.ignored[:20])}", "dim"))
    if s.grader_errors:
        console.print(
            text(
                "grader errors (stalls are kept, the others regraded on the next run; see "
                f"each message): {', '.join(s.grader_errors[:20])}",
                "red",
            )
        )
    if s.not_finished:
        console.print(
            f"[yellow]not finished: {len(s.not_finished)} submission(s); run the same "
            "command again to grade them (finished results are kept)[/]",
            highlight=False,
        )


def _print_reports(reports: Reports) -> None:
    console.print(render_summary(reports.stats, title=f"{reports.info.title} — class summary"))
    for path in reports.files:
        console.print(f"wrote {path}", highlight=False)
    console.print(
        "per student: result.json, feedback.md, feedback.html, gradescope/results.json",
        highlight=False,
    )
    for warning in reports.warnings:
        console.print(Text.assemble(("warning: ", "yellow"), text(warning)))
    if reports.unreadable:
        console.print(
            text(
                "corrupt results (regraded by the next `grade batch`): "
                f"{', '.join(reports.unreadable)}",
                "red",
            )
        )


def _fail(exc: GraderError) -> NoReturn:
    err.print(Text.assemble(("error: ", "bold red"), text(exc)))
    raise typer.Exit(2)
