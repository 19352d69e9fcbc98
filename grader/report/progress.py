"""Live progress of a batch (rich): a bar with ETA, per-worker status, graded/failed/cached.

An :data:`grader.batch.events.EventHook`; on a terminal it draws a live display, elsewhere
(CI logs, pipes) it prints one line per finished submission.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from grader.batch.events import (
    CellProgress,
    Event,
    Finished,
    Outcome,
    Planned,
    Started,
    Stopping,
)
from grader.report.safe import text

_STYLE = {Outcome.GRADED: "green", Outcome.FAILED: "red", Outcome.CACHED: "dim"}


class BatchProgress:
    """``with BatchProgress(console) as view: run_batch(..., on_event=view)``."""

    def __init__(self, console: Console, *, live: bool | None = None) -> None:
        self.console = console
        self.live_mode = console.is_terminal if live is None else live
        self.counts = dict.fromkeys(Outcome, 0)
        self.slots: dict[int, tuple[str, float, str]] = {}
        self.done = 0
        self.total = 0
        self.bar = Progress(
            TextColumn("grading"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self.task = self.bar.add_task("grading", total=None)
        self.live = (
            Live(self, console=console, refresh_per_second=4, transient=False)
            if self.live_mode
            else None
        )

    def __enter__(self) -> BatchProgress:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.live is not None:
            self.slots.clear()
            self.live.refresh()
            self.live.stop()

    def __call__(self, event: Event) -> None:
        if isinstance(event, Planned):
            self.total = event.to_grade
            self.bar.update(self.task, total=event.to_grade)
            self._line(
                f"{event.total} submissions: {event.cached} from the cache, "
                f"{event.to_grade} to grade with {event.workers} worker(s)"
            )
        elif isinstance(event, Started):
            gpu = f" gpu {event.gpu}" if event.gpu else ""
            self.slots[event.slot] = (event.student, time.monotonic(), f"starting{gpu}")
        elif isinstance(event, CellProgress) and event.slot in self.slots:
            student, since, _ = self.slots[event.slot]
            self.slots[event.slot] = (student, since, f"cell {event.index + 1}/{event.total}")
        elif isinstance(event, Finished):
            self._finished(event)
        elif isinstance(event, Stopping):
            self._line(
                f"[yellow]stopping: {event.running} running submission(s) are stopped "
                "and cleaned up; finished results are kept[/]"
            )

    def _finished(self, event: Finished) -> None:
        self.counts[event.outcome] += 1
        if event.outcome is Outcome.CACHED:
            return
        self.slots.pop(event.slot, None)
        self.done += 1
        self.bar.update(self.task, completed=self.done)
        if self.live is None:
            self.console.print(
                Text.assemble(
                    text(f"[{self.done}/{self.total}] {event.student}: "),
                    text(event.status.value, _STYLE[event.outcome]),
                    f" {event.points:g}/{event.max_points:g} ({event.seconds:.1f} s)",
                )
            )

    def _line(self, markup: str) -> None:
        """A line of the grader's own markup (no student text)."""
        self.console.print(markup, highlight=False)

    def counters(self) -> Text:
        return Text.assemble(
            ("graded ", ""),
            (str(self.counts[Outcome.GRADED]), "bold green"),
            (" · failed ", ""),
            (str(self.counts[Outcome.FAILED]), "bold red"),
            (" · cached ", ""),
            (str(self.counts[Outcome.CACHED]), "bold"),
        )

    def workers(self) -> Table:
        table = Table(show_header=True, box=None, padding=(0, 2))
        for col in ("worker", "student", "state", "time"):
            table.add_column(col, style="dim" if col == "worker" else None)
        now = time.monotonic()
        for slot in sorted(self.slots):
            student, since, state = self.slots[slot]
            table.add_row(str(slot + 1), text(student), text(state), f"{now - since:4.0f} s")
        return table

    def __rich__(self) -> RenderableType:
        return Group(self.bar, self.counters(), self.workers())
