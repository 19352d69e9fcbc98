"""The class at a glance: score distribution, verdicts, the tests most often failed."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from grader.core.lang import Language
from grader.core.results import Outcome, Status
from grader.core.store import Stored
from grader.report.chrome import Chrome as C
from grader.report.chrome import status
from grader.report.feedback import test_name

BINS = 10


@dataclass
class ClassStats:
    """Accumulated one result at a time; holds numbers and counters only."""

    max_points: float = 0.0
    totals: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    ran: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    review_needed: int = 0
    late: int = 0

    def add(self, stored: Stored) -> None:
        r = stored.result
        self.max_points = max(self.max_points, r.max_points)
        self.totals.append(r.points)
        self.statuses[r.status.value] += 1
        self.review_needed += r.needs_review
        self.late += r.late_penalty > 0
        for t in r.tests:
            name = test_name(t, r.language)
            self.ran[name] += 1
            if t.outcome not in (Outcome.PASSED, Outcome.SKIPPED):
                self.failed[name] += 1

    @property
    def count(self) -> int:
        return len(self.totals)

    def distribution(self, bins: int = BINS) -> list[tuple[float, float, int]]:
        """(low, high, count) per bin of the score range [0, max]."""
        top = self.max_points or max(self.totals, default=0.0) or 1.0
        width = top / bins
        counts = [0] * bins
        for value in self.totals:
            counts[min(bins - 1, max(0, int(value / width)))] += 1
        return [(i * width, (i + 1) * width, c) for i, c in enumerate(counts)]


def render_summary(stats: ClassStats, *, title: str, lang: Language = "en") -> RenderableType:
    if not stats.count:
        return Panel(C.no_results(lang), title=Text(title))
    head = Text(_head(stats, lang))
    return Panel(
        Group(head, _distribution(stats, lang), _statuses(stats, lang), _most_failed(stats, lang)),
        title=Text(title),
    )


def _head(stats: ClassStats, lang: Language) -> str:
    t = stats.totals
    return C.class_head(
        lang,
        count=stats.count,
        mean=statistics.fmean(t),
        median=statistics.median(t),
        min=min(t),
        max=max(t),
        top=stats.max_points,
        review=stats.review_needed,
        late=stats.late,
    )


def _distribution(stats: ClassStats, lang: Language) -> Table:
    table = Table(title=C.distribution(lang), show_header=False, box=None)
    peak = max(c for _, _, c in stats.distribution()) or 1
    for low, high, count in stats.distribution():
        table.add_row(f"{low:5.1f}–{high:5.1f}", "█" * round(30 * count / peak), str(count))
    return table


def _statuses(stats: ClassStats, lang: Language) -> Table:
    table = Table(title=C.verdicts(lang))
    table.add_column(C.status(lang))
    table.add_column(C.submissions(lang), justify="right")
    for code, count in stats.statuses.most_common():
        style = "green" if code == Status.GRADED.value else "red"
        table.add_row(Text(_status_label(code, lang), style=style), str(count))
    return table


def _status_label(code: str, lang: Language) -> str:
    return f"{status(Status(code), lang)} ({code})"


def _most_failed(stats: ClassStats, lang: Language, top: int = 10) -> Table:
    table = Table(title=C.most_failed(lang))
    for col in (C.test(lang), C.failed_count(lang), C.of(lang)):
        table.add_column(col, justify="left" if col == C.test(lang) else "right")
    for name, count in stats.failed.most_common(top):
        table.add_row(Text(name), str(count), str(stats.ran[name]))
    return table


def summary_markdown(stats: ClassStats, *, title: str, lang: Language = "en") -> str:
    if not stats.count:
        return f"# {title}\n\n{C.no_results(lang)}\n"
    out = [
        f"# {title}",
        "",
        f"- {_head(stats, lang)}",
        "",
        f"| {C.status(lang)} | {C.submissions(lang)} |",
        "|---|---|",
    ]
    out += [f"| {_status_label(s, lang)} | {c} |" for s, c in stats.statuses.most_common()]
    out += ["", f"| {C.most_failed(lang)} | {C.failed_count(lang)} | {C.of(lang)} |"]
    out += [
        "|---|---|---|",
        *[f"| {n} | {c} | {stats.ran[n]} |" for n, c in stats.failed.most_common(10)],
    ]
    return "\n".join(out) + "\n"
