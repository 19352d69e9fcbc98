"""The batch progress display: live on a terminal, one line per submission elsewhere."""

from __future__ import annotations

import io

from rich.console import Console

from grader.batch.events import CellProgress, Finished, Outcome, Planned, Started, Stopping
from grader.cli.progress import BatchProgress
from grader.core.results import Status

EVENTS = [
    Planned(total=4, cached=1, to_grade=3, workers=2),
    Finished("old", Outcome.CACHED, Status.GRADED, 4, 4),
    Started("ivanov", 0),
    Started("petrov", 1, gpu="0"),
    CellProgress("ivanov", 0, 2, 5),
    Finished("ivanov", Outcome.GRADED, Status.GRADED, 3, 4, 1.5, 0),
    Finished("petrov", Outcome.FAILED, Status.TIMEOUT, 0, 4, 9.0, 1),
    Stopping(running=1),
]


def test_live_display_shows_counts_and_workers() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=100, record=True)
    view = BatchProgress(console, live=True)
    with view:
        for event in EVENTS[:5]:
            view(event)
        console.print(view.workers())
        for event in EVENTS[5:]:
            view(event)
        console.print(view.counters())
    text = console.export_text()
    assert "ivanov" in text and "cell 3/5" in text and "starting gpu 0" in text
    assert "graded 1 · failed 1 · cached 1" in text
    assert "stopping" in text


def test_plain_output_has_one_line_per_submission() -> None:
    out = io.StringIO()
    view = BatchProgress(Console(file=out, width=120), live=False)
    with view:
        for event in EVENTS:
            view(event)
    lines = out.getvalue().splitlines()
    assert "4 submissions: 1 from the cache, 3 to grade with 2 worker(s)" in lines[0]
    assert any(line.startswith("[1/3] ivanov: graded 3/4") for line in lines)
    assert any(line.startswith("[2/3] petrov: timeout 0/4") for line in lines)
