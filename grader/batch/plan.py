"""The plan of a batch: which students are taken from the cache, which are refused without
grading, which are graded, and by how many workers. Pure: no files read, no processes started
(the runner gathers the keys and the stored results first)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from grader.batch.intake import Entry, student_id
from grader.batch.messages import Job
from grader.core.errors import GraderError
from grader.core.outcomes import Refused


@dataclass(frozen=True)
class Refusal:
    """A student whose submission is refused without grading, and the cache key it is stored
    under."""

    entry: Entry
    refused: Refused
    key: str


@dataclass(frozen=True)
class Plan:
    cached: tuple[str, ...]
    """Students whose stored result was graded from exactly these inputs."""
    refused: tuple[Refusal, ...]
    jobs: tuple[Job, ...]
    workers: int
    """Worker processes to start (0 when there is nothing to grade)."""


def select(entries: Sequence[Entry], only: Sequence[str], *, where: str) -> list[Entry]:
    """The entries of the students in ``only`` (all when it is empty); an unknown student is
    an error naming the ones found."""
    if not only:
        return list(entries)
    wanted = {student_id(s) for s in only}
    known = {e.student for e in entries}
    unknown = sorted(wanted - known)
    if unknown:
        shown = ", ".join(sorted(known)[:20]) or "none"
        raise GraderError(
            f"no submission for {', '.join(unknown)} in {where}",
            hint=f"students found: {shown}",
        )
    return [e for e in entries if e.student in wanted]


def make_plan(
    entries: Sequence[Entry],
    *,
    keys: Mapping[str, str],
    stored: Mapping[str, str],
    force: bool,
    workers: int,
) -> Plan:
    """``keys``: each student's cache key for this run; ``stored``: the key of each student's
    reusable stored result (grader errors are never reusable); ``workers``: the most to start."""
    cached, refused, jobs = [], [], []
    for entry in entries:
        key = keys[entry.student]
        if not force and stored.get(entry.student) == key:
            cached.append(entry.student)
        elif entry.refused is not None or entry.source is None:
            assert entry.refused is not None, "an entry without a source carries a refusal"
            refused.append(Refusal(entry, entry.refused, key))
        else:
            jobs.append(_job(entry, key))
    return Plan(tuple(cached), tuple(refused), tuple(jobs), min(workers, len(jobs)))


def _job(entry: Entry, key: str) -> Job:
    assert entry.source is not None
    return Job(
        student=entry.student,
        source=entry.source.resolve(),
        key=key,
        submitted_at=entry.submitted_at,
        time_from=entry.time_from,
    )
