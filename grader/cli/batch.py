"""``grade batch`` (grade a class) and ``grade report`` (rebuild its reports).

Exit codes (``exits.py``): 0 done; 1 some submissions hit grader errors or were not finished;
2 the batch could not run (usage, broken assignment, output folder busy); 130 stopped with
Ctrl-C. ``grade report`` imports only the core and the renderers: no kernel stack.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from grader.batch.engines import Engine
from grader.cli import console
from grader.cli.exits import ExitCode, fail, leave, reported
from grader.core.errors import GraderError
from grader.report.safe import text
from grader.sandbox.choose import Backend

if TYPE_CHECKING:
    from grader.batch.runner import BatchSummary
    from grader.report.build import Reports


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
        str | None,
        typer.Option(
            help="GPUs to hand to submissions that may use them, e.g. 0,1 (with --engine ray: "
            "`all`, the nodes' own GPUs)."
        ),
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
    engine: Annotated[
        Engine,
        typer.Option(help="Where jobs run: worker processes here, or the nodes of a Ray cluster."),
    ] = Engine.LOCAL,
    address: Annotated[
        str | None,
        typer.Option(help="The Ray cluster's HOST:PORT (with --engine ray)."),
    ] = None,
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
    from grader.batch.gpus import parse_gpus
    from grader.batch.runner import BatchOptions, run_batch
    from grader.cli.progress import BatchProgress
    from grader.course.locate import assignment_named
    from grader.report.build import build_reports

    try:
        spec = assignment_named(assignment)
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
            engine=engine,
            address=address,
        )
        with BatchProgress(console.out) as progress:
            summary = run_batch(spec, submissions, out=out, options=options, on_event=progress)
        _print_run(summary)
        if summary.interrupted:
            leave(ExitCode.INTERRUPTED)
        if summary.aborted:
            raise GraderError(
                f"stopped: {summary.aborted}",
                hint="fix the cause and run the same command again; finished results are kept",
            )
        reports = build_reports(out)
    except GraderError as exc:
        fail(exc)
    except KeyboardInterrupt:
        console.err.print("stopped; finished results are kept — run the same command again")
        leave(ExitCode.INTERRUPTED)
    _print_reports(reports)
    leave(ExitCode.NOT_GOOD if summary.grader_errors or summary.not_finished else ExitCode.OK)


def report(
    out: Annotated[Path, typer.Argument(help="Output folder of `grade batch`.")],
    histogram: Annotated[bool, typer.Option(help="Also draw histogram.png.")] = True,
) -> None:
    """Rebuild gradebook, feedback, Gradescope and JUnit files from stored results."""
    from grader.report.build import build_reports

    with reported():
        reports = build_reports(out, histogram=histogram)
    _print_reports(reports)


def _print_run(s: BatchSummary) -> None:
    workers = f" with {s.workers} worker(s)" if s.workers else ""
    console.out.print(
        f"{s.total} submissions: [green]{s.graded} graded[/], [red]{s.failed} failed"
        f"[/], {s.cached} cached, in {s.seconds:.1f} s{workers}",
        highlight=False,
    )
    # file and student names come from the class folder: printed as Text, never as markup
    if s.ignored:
        console.out.print(text(f"ignored (not submissions): {', '.join(s.ignored[:20])}", "dim"))
    if s.grader_errors:
        console.out.print(
            text(
                "grader errors (stalls are kept, the others regraded on the next run; see "
                f"each message): {', '.join(s.grader_errors[:20])}",
                "red",
            )
        )
    if s.not_finished:
        console.out.print(
            f"[yellow]not finished: {len(s.not_finished)} submission(s); run the same "
            "command again to grade them (finished results are kept)[/]",
            highlight=False,
        )


def _print_reports(reports: Reports) -> None:
    from grader.report.chrome import Chrome
    from grader.report.summary import render_summary

    info = reports.info
    title = Chrome.class_summary(info.language, title=info.title)
    console.out.print(render_summary(reports.stats, title=title, lang=info.language))
    for path in reports.files:
        console.out.print(f"wrote {path}", highlight=False)
    console.out.print(
        "per student: result.json, feedback.md, feedback.html, gradescope/results.json",
        highlight=False,
    )
    for warning in reports.warnings:
        console.out.print(Text.assemble(("warning: ", "yellow"), text(warning)))
    if reports.unreadable:
        console.out.print(
            text(
                "corrupt results (regraded by the next `grade batch`): "
                f"{', '.join(reports.unreadable)}",
                "red",
            )
        )
