"""Which submissions a CI job grades, and which changes it refuses.

``classroom``: the repository is one student's; its one submission is graded on every run.
``class-repo``: one folder per student (``--submissions 'submissions/{student}'``); a push grades
the folders it changed plus the pusher's own, and a student who changes anything outside their
own folder (per the roster, read as it was before the push) gets a violation instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from grader.ci.changes import Changes, find_changes
from grader.ci.environment import CIEnv, Event
from grader.ci.git import EMPTY_TREE, Git
from grader.ci.roster import Roster, parse_roster
from grader.errors import GraderError

PLACEHOLDER = "{student}"
LISTED = 20
"""Paths named one by one in a violation; the rest are counted."""


class Layout(StrEnum):
    CLASSROOM = "classroom"
    CLASS_REPO = "class-repo"


@dataclass(frozen=True)
class Target:
    student: str
    """The folder's name (class repository) or the student's name (their own repository)."""
    path: str
    """The submission, relative to the repository: a notebook, a folder or a zip."""


@dataclass(frozen=True)
class Violation:
    path: str
    reason: str


@dataclass(frozen=True)
class Plan:
    targets: tuple[Target, ...]
    changes: Changes | None = None
    violations: tuple[Violation, ...] = ()
    notes: tuple[str, ...] = ()
    roster: Roster | None = None


@dataclass(frozen=True)
class Pattern:
    """``submissions/{student}``: where each student's submission lives."""

    before: tuple[str, ...]
    after: tuple[str, ...] = field(default=())

    @classmethod
    def parse(cls, text: str) -> Pattern:
        parts = tuple(p for p in text.strip().strip("/").split("/") if p not in ("", "."))
        if (
            parts.count(PLACEHOLDER) != 1
            or ".." in parts
            or any("{" in p or "}" in p for p in parts if p != PLACEHOLDER)
        ):
            raise GraderError(
                f"--submissions {text!r} must name one folder level as {PLACEHOLDER}",
                hint="e.g. --submissions 'submissions/{student}' or '{student}/hw1'",
            )
        at = parts.index(PLACEHOLDER)
        return cls(parts[:at], parts[at + 1 :])

    def owner(self, path: str) -> str | None:
        """The student whose folder holds ``path`` (a file), if any."""
        parts = path.split("/")
        n = len(self.before)
        return parts[n] if len(parts) > n + 1 and tuple(parts[:n]) == self.before else None

    def submission(self, path: str) -> str | None:
        """The student whose submission ``path`` is part of, if any."""
        student, parts, n = self.owner(path), path.split("/"), len(self.before) + 1
        if student is None or tuple(parts[n : n + len(self.after)]) != self.after:
            return None
        return student if len(parts) > n + len(self.after) or not self.after else None

    def path_for(self, student: str) -> str:
        return "/".join((*self.before, student, *self.after))

    def existing(self, repo: Path) -> list[str]:
        folder = repo.joinpath(*self.before)
        if not folder.is_dir():
            return []
        return sorted(
            p.name
            for p in folder.iterdir()
            if p.is_dir() and not p.name.startswith(".") and (repo / self.path_for(p.name)).exists()
        )


def classroom_plan(*, student: str, submission: str) -> Plan:
    return Plan(targets=(Target(student, submission),))


def class_plan(git: Git, ci: CIEnv, *, pattern: Pattern, roster_path: str | None) -> Plan:
    changes = find_changes(git, ci)
    roster, notes = _roster(git, changes, roster_path)
    repo = git.repo
    if changes.everything:
        students = pattern.existing(repo)
    else:
        students = sorted({s for p in changes.paths if (s := pattern.submission(p)) is not None})
    violations: list[Violation] = []
    checked = ci.event in (Event.PUSH, Event.PULL_REQUEST)
    if checked and roster is None:
        notes.append("no roster (--roster): who may change which folder is not checked")
    elif checked and roster is not None and not roster.is_staff(ci.actor):
        if changes.everything:
            notes.append("the pushed changes are unknown, so ownership could not be checked")
        violations, refused = _violations(pattern, roster, ci.actor, changes.paths)
        students = [s for s in students if s not in refused]
        own = roster.folders_of(ci.actor) - set(students)  # graded on every push of theirs
        students += sorted(s for s in own if (repo / pattern.path_for(s)).exists())
    present = [s for s in students if (repo / pattern.path_for(s)).exists()]
    notes += [
        f"{pattern.path_for(s)} was removed: nothing to grade" for s in students if s not in present
    ]
    targets = tuple(Target(s, pattern.path_for(s)) for s in sorted(present))
    return Plan(targets, changes, tuple(violations), tuple(notes), roster)


def _roster(git: Git, changes: Changes, path: str | None) -> tuple[Roster | None, list[str]]:
    """The roster as it was before the push, so a push cannot grant itself a folder."""
    if not path:
        return None, []
    base = changes.base if changes.base not in ("", EMPTY_TREE) else ""
    data = git.show(base, path) if base else None
    if data is not None:
        return parse_roster(_text(data, path), source=f"{path} at {base[:12]}"), []
    file = git.repo / path
    if not file.is_file():
        raise GraderError(f"the roster {path} does not exist", hint="commit it, or fix --roster")
    note = f"the roster {path} did not exist before this push: read from the pushed commit"
    return parse_roster(_text(file.read_bytes(), path), source=path), [note] if base else []


def _text(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GraderError(f"the roster {path} is not UTF-8 text", hint="save it as UTF-8") from exc


def _violations(
    pattern: Pattern, roster: Roster, actor: str, paths: tuple[str, ...]
) -> tuple[list[Violation], set[str]]:
    """Changes the pusher may not make, and the students whose folders they touched."""
    own = roster.folders_of(actor)
    who = actor or "the pusher"
    if not roster.is_student(actor):
        who = f"{who} (not on the roster {roster.source})"
    foreign: dict[str, int] = {}
    outside: list[str] = []
    for path in paths:
        owner = pattern.owner(path)
        if owner is None:
            outside.append(path)
        elif owner not in own:
            foreign[owner] = foreign.get(owner, 0) + 1
    found = [
        Violation(
            "/".join((*pattern.before, owner)),
            f"{who} changed {n} file(s) in a folder that is not theirs",
        )
        for owner, n in sorted(foreign.items())
    ]
    found += [Violation(p, f"{who} changed a file outside their folder") for p in outside[:LISTED]]
    if len(outside) > LISTED:
        found.append(Violation("…", f"and {len(outside) - LISTED} more files outside their folder"))
    return found, set(foreign)
