"""Rich console rendering of one GradeResult, with next steps for a student.

Everything that comes from the result is student text: it is passed as ``Text`` (never markup)
through :func:`grader.report.safe.text` (control characters shown escaped).
"""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from grader.report.safe import text
from grader.results import GradeResult, Outcome, Status, TestResult

_STYLE = {
    Outcome.PASSED: "green",
    Outcome.PARTIAL: "yellow",
    Outcome.FAILED: "red",
    Outcome.ERROR: "red",
    Outcome.SKIPPED: "dim",
}


def render(result: GradeResult, console: Console) -> None:
    console.print(_header(result))
    if result.tests:
        console.print(_tests_table(result))
    if result.answers:
        console.print(_answers_table(result))
    for err in result.cell_errors:
        console.print(
            Text.assemble(
                text(f"Cell {err.index + 1} raised {err.ename}", "red"),
                ": ",
                text(err.evalue),
                "\n",
                text(err.source_head, "dim"),
            )
        )
    console.print(_next_steps(result))


def _header(r: GradeResult) -> Panel:
    ok = r.status is Status.GRADED
    title = f"{r.assignment} · {r.points:g} / {r.max_points:g} points"
    if not r.hidden_included:
        title += " (public checks only)"
    if r.status is Status.INTERRUPTED:
        title = f"{r.assignment} · not graded"
    body = text(r.message, "green" if ok else "bold red")
    return Panel(body, title=text(title), border_style="green" if ok else "red")


def _tests_table(r: GradeResult) -> Table:
    table = Table(title="Tests", show_lines=False)
    for col in ("part", "test", "result", "points", "details"):
        table.add_column(col, overflow="fold")
    for t in r.tests:
        name = t.id.split("::")[-1] + (" (hidden)" if t.hidden else "")
        table.add_row(
            text(t.component),
            text(name),
            Text(t.outcome.value, style=_STYLE[t.outcome]),
            f"{t.points:g}/{t.max_points:g}",
            _details(t),
        )
    return table


def _details(t: TestResult) -> Text:
    """The whole message (a hint is never cut); a hidden test's own message below it, which
    only an instructor's run has."""
    shown = text(t.message)
    if t.detail:
        shown.append_text(text(f"\n[instructor] {t.detail}", "dim"))
    return shown


def _answers_table(r: GradeResult) -> Table:
    table = Table(title="Written answers")
    for col in ("question", "status", "points"):
        table.add_column(col, overflow="fold")
    for a in r.answers:
        state = (
            ("answered, awaits review" if a.needs_review else "answered")
            if a.answered
            else f"missing: {a.message}"
        )
        table.add_row(
            text(a.id),
            text(state, "green" if a.answered else "red"),
            f"{a.points:g}/{a.max_points:g}",
        )
    return table


def _next_steps(r: GradeResult) -> Panel:
    steps = [
        f"• {t.id.split('::')[-1]}: {t.message.splitlines()[0] if t.message else 'fix it'}"
        for t in r.tests
        if not t.hidden and t.outcome in (Outcome.FAILED, Outcome.ERROR)
    ]
    steps += [
        f"• answer {a.id} in a markdown cell: **Ответ {a.id}:** … ({a.message})"
        for a in r.answers
        if not a.answered
    ]
    if r.hidden_not_run:
        steps.append(_hidden_note(r))
    if r.needs_review:
        steps.append("• written answers are scored provisionally; a teacher reviews them")
    if not steps and r.status is Status.INTERRUPTED:
        steps = ["• run the same `grade check` again and let it finish"]
    elif not steps and r.status is not Status.GRADED:
        steps = ["• fix what the message above says, then run `grade check` again"]
    elif not steps:
        steps = ["• all checks passed"]
    return Panel(Group(*[text(s) for s in steps]), title="Next steps", border_style="blue")


def _hidden_note(r: GradeResult) -> str:
    per = r.hidden_points_pending
    parts = ", ".join(f"{c}: {p:g}" for c, p in sorted(per.items()))
    return (
        f"• NOT YOUR GRADE YET: {r.hidden_not_run} hidden checks worth "
        f"{sum(per.values()):g} points ({parts}) run only at grading, on data you do not have"
    )
