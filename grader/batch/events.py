"""Events a batch emits while it runs; the CLI hangs its progress display on them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from grader.core.results import Status

GRADED_STATUSES = (Status.GRADED, Status.MISSING_NAMES)
"""Verdicts that count as graded (the rest are failures: refused, stopped, grader errors)."""


class Outcome(StrEnum):
    GRADED = "graded"
    """Graded now, verdict ``graded`` or ``missing_names``."""
    FAILED = "failed"
    """Graded (or refused) now with another verdict: timeout, crash, duplicate, grader error…"""
    CACHED = "cached"
    """A stored result for the same inputs was kept."""


@dataclass(frozen=True)
class Planned:
    """Intake is done: how many submissions, how many come from the cache."""

    total: int
    cached: int
    to_grade: int
    workers: int


@dataclass(frozen=True)
class Started:
    student: str
    slot: int
    gpu: str | None = None


@dataclass(frozen=True)
class CellProgress:
    student: str
    slot: int
    index: int
    total: int


@dataclass(frozen=True)
class Finished:
    student: str
    outcome: Outcome
    status: Status
    points: float
    max_points: float
    seconds: float = 0.0
    slot: int = -1
    message: str = ""


@dataclass(frozen=True)
class Stopping:
    """Ctrl-C: no new submission starts; running ones are stopped and cleaned up."""

    running: int


Event = Planned | Started | CellProgress | Finished | Stopping
EventHook = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The default hook."""
