"""The class at a glance: score distribution, verdicts, the tests most often failed."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from grader.batch.store import Stored
from grader.report.feedback import test_name
from grader.results import Outcome, Status

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
            self.ran[test_name(t)] += 1
            if t.outcome not in (Outcome.PASSED, Outcome.SKIPPED):
                self.failed[test_name(t)] += 1

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


def render_summary(stats: ClassStats, *, title: str) -> RenderableType:
    if not stats.count:
        return Panel("no results yet", title=title)
    t = stats.totals
    head = Text(
        f"{stats.count} submissions · mean {statistics.fmean(t):.2f} · median "
        f"{statistics.median(t):g} · min {min(t):g} · max {max(t):g} "
        f"(of {stats.max_points:g}) · {stats.review_needed} need review · "
        f"{stats.late} late"
    )
    return Panel(
        Group(head, _distribution(stats), _statuses(stats), _most_failed(stats)), title=title
    )


def _distribution(stats: ClassStats) -> Table:
    table = Table(title="Distribution", show_header=False, box=None)
    peak = max(c for _, _, c in stats.distribution()) or 1
    for low, high, count in stats.distribution():
        table.add_row(f"{low:5.1f}–{high:5.1f}", "█" * round(30 * count / peak), str(count))
    return table


def _statuses(stats: ClassStats) -> Table:
    table = Table(title="Verdicts")
    table.add_column("status")
    table.add_column("submissions", justify="right")
    for status, count in stats.statuses.most_common():
        style = "green" if status == Status.GRADED.value else "red"
        table.add_row(Text(status, style=style), str(count))
    return table


def _most_failed(stats: ClassStats, top: int = 10) -> Table:
    table = Table(title="Most failed tests")
    for col in ("test", "failed", "of"):
        table.add_column(col, justify="left" if col == "test" else "right")
    for name, count in stats.failed.most_common(top):
        table.add_row(name, str(count), str(stats.ran[name]))
    return table


def summary_markdown(stats: ClassStats, *, title: str) -> str:
    if not stats.count:
        return f"# {title}\n\nno results yet\n"
    t = stats.totals
    out = [
        f"# {title}",
        "",
        f"- submissions: {stats.count}",
        f"- mean {statistics.fmean(t):.2f}, median {statistics.median(t):g}, "
        f"min {min(t):g}, max {max(t):g} (of {stats.max_points:g})",
        f"- need review: {stats.review_needed}; late: {stats.late}",
        "",
        "| status | submissions |",
        "|---|---|",
    ]
    out += [f"| {s} | {c} |" for s, c in stats.statuses.most_common()]
    out += ["", "| most failed test | failed | of |", "|---|---|---|"]
    out += [f"| {n} | {c} | {stats.ran[n]} |" for n, c in stats.failed.most_common(10)]
    return "\n".join(out) + "\n"
