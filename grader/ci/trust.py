"""May hidden tests run in this CI job? Only where students cannot change what the job runs.

A job runs the workflow file of the commit that started it. In a repository students push to,
a student can edit that file to print every secret and file the job is given; nothing the
grader checks inside such a job can prevent that. So hidden tests must never reach such a job,
and ``grade ci --hidden`` refuses to run where the job shows the signs of one (each refusal
names its reason). The refusal is a tripwire for a wrong setup, not the protection itself:
the protection is where the hidden tests live (docs/ci.md, "Trust model").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.ci.environment import CIEnv, Event
from grader.ci.git import Git
from grader.ci.plan import Layout
from grader.ci.roster import Roster
from grader.sandbox.choose import Backend

CLASSROOM_JOB = "run-autograding-tests"
TRUSTED_ENV = "GRADER_TRUSTED_REPOS"
"""Comma-separated repositories (``owner/name``, GitLab project paths) trusted with hidden tests."""


@dataclass(frozen=True)
class Trust:
    allowed: bool
    reasons: tuple[str, ...] = ()
    """Why hidden tests may not run here (empty when they may)."""


@dataclass(frozen=True)
class Setup:
    """What the job was asked to do, as far as trust is concerned."""

    layout: Layout
    trusted: Sequence[str]
    roster: Roster | None
    backend: Backend
    allow_unconfined: bool = False


def decide(ci: CIEnv, setup: Setup) -> Trust:
    reasons = [r for r in (_own_repo(ci, setup), _request(ci), _listed(ci, setup)) if r]
    reasons += [r for r in (_student(ci, setup), _sandbox(setup)) if r]
    return Trust(not reasons, tuple(reasons))


def is_trusted(ci: CIEnv, trusted: Sequence[str]) -> bool:
    return ci.repository.casefold() in {t.strip().casefold() for t in trusted if t.strip()}


def _own_repo(ci: CIEnv, setup: Setup) -> str:
    if setup.layout is Layout.CLASSROOM or ci.job == CLASSROOM_JOB:
        return (
            "this is a student's own repository (GitHub Classroom layout): the student can edit "
            "this workflow and read everything the job is given; grade with hidden tests where "
            "students cannot change the workflow (docs/ci.md)"
        )
    return ""


def _request(ci: CIEnv) -> str:
    if ci.event is Event.PULL_REQUEST:
        return (
            f"a {ci.event_name or 'pull request'} job runs code and workflow changes from a "
            "branch no instructor has merged"
        )
    return ""


def _listed(ci: CIEnv, setup: Setup) -> str:
    if is_trusted(ci, setup.trusted):
        return ""
    listed = ", ".join(t for t in setup.trusted if t.strip()) or "none"
    return (
        f"the repository {ci.repository or '(unknown)'} is not listed as trusted "
        f"(--trusted-repo or {TRUSTED_ENV}; listed: {listed}); list only repositories "
        "whose workflows students cannot change"
    )


def _student(ci: CIEnv, setup: Setup) -> str:
    if setup.roster is not None and ci.actor and setup.roster.is_student(ci.actor):
        return (
            f"{ci.actor} started this job and is a student on the roster: whoever can push "
            "here can change the workflow"
        )
    return ""


def _sandbox(setup: Setup) -> str:
    if setup.backend is Backend.LOCAL and not setup.allow_unconfined:
        return (
            "the local backend runs the notebook unconfined on this runner, where the hidden "
            "tests and data are readable files: use --backend docker"
        )
    return ""


def exposed(git: Git, hidden: Sequence[Path]) -> list[str]:
    """Hidden tests or data committed to this repository (readable by whoever can clone it)."""
    repo = git.repo.resolve()
    inside = [
        str(p.resolve().relative_to(repo)) for p in hidden if p.resolve().is_relative_to(repo)
    ]
    return git.tracked(*inside) if inside else []
