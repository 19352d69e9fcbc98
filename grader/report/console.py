"""Rich console rendering of one GradeResult, with next steps for a student.

What came from the submission (messages, cell sources, answers) is student text: it is passed
as ``Text`` (never markup) through :func:`grader.report.safe.text` (control characters shown
escaped); the fixed text speaks the course's language (``chrome.py``).
"""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from grader.core.lang import Language
from grader.core.results import GradeResult, Outcome, Status, TestResult
from grader.report.chrome import Chrome as C
from grader.report.chrome import outcome
from grader.report.feedback import answer_state
from grader.report.safe import text

_STYLE = {
    Outcome.PASSED: "green",
    Outcome.PARTIAL: "yellow",
    Outcome.FAILED: "red",
    Outcome.ERROR: "red",
    Outcome.SKIPPED: "dim",
}


def render(result: GradeResult, console: Console) -> None:
    lang = result.language
    console.print(_header(result))
    if result.tests:
        console.print(_tests_table(result))
    if result.answers:
        console.print(_answers_table(result))
    for err in result.cell_errors:
        head = C.cell_raised(lang, cell=err.index + 1, ename=err.ename)
        console.print(
            Text.assemble(
                text(head, "red"), ": ", text(err.evalue), "\n", text(err.source_head, "dim")
            )
        )
    console.print(_next_steps(result))


def _header(r: GradeResult) -> Panel:
    ok = r.status is Status.GRADED
    title = C.points_title(r.language, assignment=r.assignment, points=r.points, max=r.max_points)
    if not r.hidden_included:
        title += C.public_only(r.language)
    if r.status is Status.INTERRUPTED:
        title = C.not_graded_title(r.language, assignment=r.assignment)
    body = text(r.message, "green" if ok else "bold red")
    return Panel(body, title=text(title), border_style="green" if ok else "red")


def _tests_table(r: GradeResult) -> Table:
    lang = r.language
    table = Table(title=C.tests(lang), show_lines=False)
    for col in (C.part, C.test, C.result, C.points, C.details):
        table.add_column(col(lang), overflow="fold")
    for t in r.tests:
        name = t.id.split("::")[-1] + (C.hidden(lang) if t.hidden else "")
        table.add_row(
            text(t.component),
            text(name),
            Text(outcome(t.outcome, lang), style=_STYLE[t.outcome]),
            f"{t.points:g}/{t.max_points:g}",
            _details(t, lang),
        )
    return table


def _details(t: TestResult, lang: Language) -> Text:
    """The whole message (a hint is never cut); a hidden test's own message below it, which
    only an instructor's run has."""
    shown = text(t.message)
    if t.detail:
        shown.append_text(text("\n" + C.instructor_detail(lang, detail=t.detail), "dim"))
    return shown


def _answers_table(r: GradeResult) -> Table:
    lang = r.language
    table = Table(title=C.answers(lang))
    for col in (C.question, C.state, C.points):
        table.add_column(col(lang), overflow="fold")
    for a in r.answers:
        state = text(answer_state(a, lang), "green" if a.answered else "red")
        table.add_row(text(a.id), state, f"{a.points:g}/{a.max_points:g}")
    return table


def _next_steps(r: GradeResult) -> Panel:
    lang = r.language
    steps = [
        f"• {t.id.split('::')[-1]}: {t.message.splitlines()[0] if t.message else C.fix_it(lang)}"
        for t in r.tests
        if not t.hidden and t.outcome in (Outcome.FAILED, Outcome.ERROR)
    ]
    steps += [
        f"• {C.answer_it(lang, id=a.id, reason=a.message)}" for a in r.answers if not a.answered
    ]
    if r.hidden_not_run:
        steps.append(_hidden_note(r, lang))
    if r.needs_review:
        steps.append(f"• {C.provisional(lang)}")
    if not steps and r.status is Status.INTERRUPTED:
        steps = [f"• {C.run_again(lang)}"]
    elif not steps and r.status is not Status.GRADED:
        steps = [f"• {C.fix_message(lang)}"]
    elif not steps:
        steps = [f"• {C.all_passed(lang)}"]
    return Panel(Group(*[text(s) for s in steps]), title=C.next_steps(lang), border_style="blue")


def _hidden_note(r: GradeResult, lang: Language) -> str:
    per = r.hidden_points_pending
    parts = ", ".join(f"{c}: {p:g}" for c, p in sorted(per.items()))
    note = C.not_your_grade(lang, count=r.hidden_not_run, points=sum(per.values()), parts=parts)
    return f"• {note}"
