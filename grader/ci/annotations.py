"""A few annotations per job: what failed, pointing at the failing cell of the notebook.

GitHub shows at most 10 annotations of each level per step (50 per job), so each level is capped
and its last slot says how many more there are. On GitHub they are workflow commands
(``::error file=…,line=…,title=…::message``) with every value escaped the way the runner
unescapes it; GitLab has no annotations, so the same lines are printed as plain log text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from grader.ci.outcome import CIRun, Graded, test_title
from grader.ci.text import one_line
from grader.results import Status

PER_LEVEL = 10


class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"


@dataclass(frozen=True)
class Annotation:
    level: Level
    title: str
    message: str
    file: str = ""
    line: int | None = None


def annotations_for(run: CIRun, *, per_level: int = PER_LEVEL) -> list[Annotation]:
    found = [*_of_run(run), *(a for g in run.graded for a in _of(g))]
    return [
        a for level in Level for a in _capped([x for x in found if x.level is level], per_level)
    ]


def _of_run(run: CIRun) -> Iterable[Annotation]:
    if run.trust is not None and not run.trust.allowed:
        for reason in run.trust.reasons:
            yield Annotation(Level.ERROR, "hidden tests refused", reason)
    for v in run.plan.violations:
        yield Annotation(Level.ERROR, "not graded", f"{v.path}: {v.reason}")
    if run.exposed:
        listed = ", ".join(run.exposed[:5]) + (" …" if len(run.exposed) > 5 else "")
        yield Annotation(
            Level.WARNING,
            "hidden tests are committed here",
            f"students who can read this repository can read them: {listed}",
        )


def _of(g: Graded) -> Iterable[Annotation]:
    r, who = g.result, g.student
    if r.status is not Status.GRADED:
        yield Annotation(Level.ERROR, f"{who}: {r.status.value}", r.message, g.notebook)
    for e in r.cell_errors:
        head = e.source_head.splitlines()[0] if e.source_head else ""
        yield Annotation(
            Level.ERROR,
            f"{who}: cell {e.index + 1} raised {e.ename}",
            f"{e.evalue} — in: {head}" if head else e.evalue,
            g.notebook,
            g.line_of(e.index),
        )
    for t in g.failed_tests():
        label = f"{who}: {test_title(t)} {t.points:g}/{t.max_points:g}"
        yield Annotation(Level.WARNING, label, t.message or t.outcome.value, g.notebook)
    for a in r.answers:
        if not a.answered:
            yield Annotation(Level.WARNING, f"{who}: answer {a.id} missing", a.message, g.notebook)
    pending = (
        f"; hidden checks worth {sum(r.hidden_points_pending.values()):g} points run at grading"
    )
    yield Annotation(
        Level.NOTICE,
        f"{who}: {r.points:g} / {r.max_points:g} points",
        r.message + (pending if r.hidden_not_run else ""),
    )


def _capped(items: list[Annotation], limit: int) -> list[Annotation]:
    if len(items) <= limit:
        return items
    rest = len(items) - (limit - 1)
    more = Annotation(items[0].level, f"{rest} more", "see the job summary and the artifact")
    return [*items[: limit - 1], more]


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_command(a: Annotation) -> str:
    """``::error file=…,line=…,title=…::message``, one line whatever the text holds."""
    props = [f"file={escape_property(one_line(a.file, 500))}"] if a.file else []
    if a.file and a.line is not None:
        props.append(f"line={a.line}")
    props.append(f"title={escape_property(one_line(a.title, 200))}")
    return f"::{a.level.value} {','.join(props)}::{escape_data(one_line(a.message, 1000))}"


def plain_line(a: Annotation) -> str:
    where = f" ({one_line(a.file, 300)}" + (f":{a.line})" if a.line else ")") if a.file else ""
    return f"grade ci {a.level.value}: {one_line(a.title, 200)}: {one_line(a.message, 1000)}{where}"
