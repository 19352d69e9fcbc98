"""What a push changed: the diff between the branch's previous commit and the pushed one.

Fallbacks, in order, when the previous commit is not known or not in the clone:

* fetch it from ``origin`` (a force-push leaves it out of a fresh clone; so does a shallow one);
* a new branch: the changes since it left the default branch (their merge base);
* the repository's first commit: every file in it;
* otherwise nothing is known, and every submission is graded (``everything``).

A pull or merge request compares its base with its head; a scheduled or manual run grades
every submission.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.ci.environment import CIEnv, Event
from grader.ci.git import EMPTY_TREE, Git


@dataclass(frozen=True)
class Changes:
    head: str
    base: str
    """The commit the head is compared with; '' when ``everything``."""
    paths: tuple[str, ...]
    how: str
    """One sentence: what was compared, and why (shown in the summary)."""
    everything: bool = False
    """The changes are unknown (or the run is not a push): grade every submission."""


def find_changes(git: Git, ci: CIEnv) -> Changes:
    head = ci.head or git.head()
    if ci.event is Event.PULL_REQUEST and ci.request_base:
        if _present(git, ci.request_base):
            return _diff(git, ci.request_base, head, "the request's base")
        return _everything(head, "the request's base commit is not in this clone")
    if ci.event is not Event.PUSH:
        return _everything(head, f"a {ci.event_name or ci.event.value} run grades every submission")
    if ci.deleted:
        return Changes(head, head, (), "the push deleted a branch: nothing to grade")
    if ci.before and _present(git, ci.before):
        return _diff(git, ci.before, head, _push_kind(git, ci, head))
    return _without_before(git, ci, head)


def _present(git: Git, sha: str) -> bool:
    return git.has_commit(sha) or git.fetch(sha)


def _push_kind(git: Git, ci: CIEnv, head: str) -> str:
    """GitHub says whether a push was forced; on GitLab, history tells (when it is there)."""
    forced = ci.forced or (
        git.merge_base(ci.before, head) != "" and not git.is_ancestor(ci.before, head)
    )
    return "the branch before this force-push" if forced else "the previous commit of the branch"


def _diff(git: Git, base: str, head: str, what: str) -> Changes:
    paths = tuple(git.diff(base, head))
    return Changes(head, base, paths, f"compared with {what} ({base[:12]})")


def _without_before(git: Git, ci: CIEnv, head: str) -> Changes:
    gone = f"the previous commit {ci.before[:12]} is not in this clone" if ci.before else ""
    default = _default_branch(git, ci)
    if default:
        base = git.merge_base(default, head)
        if base:
            paths = tuple(git.diff(base, head))
            why = "a new branch" if ci.created or not ci.before else gone
            return Changes(head, base, paths, f"{why}: compared with where it left {_name(ci)}")
    if not git.parents(head):
        return Changes(head, EMPTY_TREE, tuple(git.files(head)), "the first commit: every file")
    return _everything(
        head,
        (gone or "the previous commit is unknown")
        + "; check out the full history (fetch-depth: 0, GIT_DEPTH: 0) to grade only the changes",
    )


def _default_branch(git: Git, ci: CIEnv) -> str:
    """The default branch's commit, when it is not the branch being pushed."""
    name = ci.default_branch
    if not name or ci.ref in (name, f"refs/heads/{name}"):
        return ""
    return git.ref(f"origin/{name}", f"refs/remotes/origin/{name}", f"refs/heads/{name}")


def _name(ci: CIEnv) -> str:
    return ci.default_branch or "the default branch"


def _everything(head: str, why: str) -> Changes:
    return Changes(head, "", (), f"{why}: every submission is graded", everything=True)
