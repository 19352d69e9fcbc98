"""Which CI service runs this job and what started it, read from the service's variables.

GitHub Actions: ``GITHUB_ACTIONS``, ``GITHUB_EVENT_NAME``, ``GITHUB_EVENT_PATH`` (the webhook
payload: ``before``, ``after``, ``created``, ``deleted``, ``forced``, ``repository``),
``GITHUB_SHA``, ``GITHUB_REPOSITORY``, ``GITHUB_ACTOR``, ``GITHUB_JOB``, ``GITHUB_WORKSPACE``,
``GITHUB_STEP_SUMMARY``, ``GITHUB_OUTPUT``. GitLab CI: ``GITLAB_CI``, ``CI_PIPELINE_SOURCE``,
``CI_COMMIT_SHA``, ``CI_COMMIT_BEFORE_SHA``, ``CI_PROJECT_PATH``, ``GITLAB_USER_LOGIN``,
``CI_JOB_NAME``, ``CI_PROJECT_DIR``, ``CI_DEFAULT_BRANCH``, ``CI_PIPELINE_CREATED_AT``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

ZERO_SHA = "0" * 40
"""What both services put in ``before`` when there is no previous commit."""


class Provider(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"


class Event(StrEnum):
    """What started the job, in the services' common terms."""

    PUSH = "push"
    PULL_REQUEST = "pull_request"
    SCHEDULE = "schedule"
    MANUAL = "manual"
    OTHER = "other"


_GITHUB_EVENTS = {
    "push": Event.PUSH,
    "pull_request": Event.PULL_REQUEST,
    "pull_request_target": Event.PULL_REQUEST,
    "merge_group": Event.PULL_REQUEST,
    "schedule": Event.SCHEDULE,
    "workflow_dispatch": Event.MANUAL,
    "repository_dispatch": Event.MANUAL,
}
_GITLAB_SOURCES = {
    "push": Event.PUSH,
    "merge_request_event": Event.PULL_REQUEST,
    "external_pull_request_event": Event.PULL_REQUEST,
    "schedule": Event.SCHEDULE,
    "web": Event.MANUAL,
    "api": Event.MANUAL,
    "trigger": Event.MANUAL,
    "chat": Event.MANUAL,
}


@dataclass(frozen=True)
class CIEnv:
    """One CI job as the grader sees it."""

    provider: Provider
    event: Event
    event_name: str
    """The service's own name for the event (``push``, ``merge_request_event``...)."""
    repository: str
    """``owner/name`` (GitHub) or the project's path (GitLab)."""
    workspace: Path
    head: str
    before: str = ""
    """The branch's previous commit; empty when there is none (new branch, first commit)."""
    forced: bool = False
    created: bool = False
    deleted: bool = False
    request_base: str = ""
    """Base commit of a pull or merge request."""
    ref: str = ""
    default_branch: str = ""
    actor: str = ""
    job: str = ""
    pushed_at: datetime | None = None
    """When the service received the push (its clock, not the commit's date)."""
    summary_file: Path | None = None
    output_file: Path | None = None
    notes: tuple[str, ...] = field(default=())


def detect(environ: Mapping[str, str]) -> CIEnv | None:
    """The CI job described by ``environ``; None outside GitHub Actions and GitLab CI."""
    if environ.get("GITHUB_ACTIONS") == "true":
        return _github(environ)
    if environ.get("GITLAB_CI") == "true":
        return _gitlab(environ)
    return None


def _github(env: Mapping[str, str]) -> CIEnv:
    name = env.get("GITHUB_EVENT_NAME", "")
    payload, notes = _payload(env.get("GITHUB_EVENT_PATH", ""))
    repo = _dict(payload.get("repository"))
    request = _dict(_dict(payload.get("pull_request")).get("base"))
    push = payload if name == "push" else {}  # a pull request's before/after are its branch's
    return CIEnv(
        provider=Provider.GITHUB,
        event=_GITHUB_EVENTS.get(name, Event.OTHER),
        event_name=name,
        repository=env.get("GITHUB_REPOSITORY", ""),
        workspace=Path(env.get("GITHUB_WORKSPACE") or "."),
        head=_sha(push.get("after")) or env.get("GITHUB_SHA", ""),
        before=_sha(push.get("before")),
        forced=push.get("forced") is True,
        created=push.get("created") is True,
        deleted=push.get("deleted") is True,
        request_base=_sha(request.get("sha")),
        ref=env.get("GITHUB_REF", ""),
        default_branch=str(repo.get("default_branch") or ""),
        actor=env.get("GITHUB_ACTOR", ""),
        job=env.get("GITHUB_JOB", ""),
        pushed_at=_time(repo.get("pushed_at")) if name == "push" else None,
        summary_file=_path(env.get("GITHUB_STEP_SUMMARY")),
        output_file=_path(env.get("GITHUB_OUTPUT")),
        notes=notes,
    )


def _gitlab(env: Mapping[str, str]) -> CIEnv:
    source = env.get("CI_PIPELINE_SOURCE", "")
    return CIEnv(
        provider=Provider.GITLAB,
        event=_GITLAB_SOURCES.get(source, Event.OTHER),
        event_name=source,
        repository=env.get("CI_PROJECT_PATH", ""),
        workspace=Path(env.get("CI_PROJECT_DIR") or "."),
        head=env.get("CI_COMMIT_SHA", ""),
        before=_sha(env.get("CI_COMMIT_BEFORE_SHA")),
        request_base=_sha(env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA")),
        ref=env.get("CI_COMMIT_REF_NAME", ""),
        default_branch=env.get("CI_DEFAULT_BRANCH", ""),
        actor=env.get("GITLAB_USER_LOGIN", ""),
        job=env.get("CI_JOB_NAME", ""),
        pushed_at=_time(env.get("CI_PIPELINE_CREATED_AT")) if source == "push" else None,
    )


def _payload(path: str) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The event payload; a missing or broken one is a note, not a failure."""
    if not path:
        return {}, ("GITHUB_EVENT_PATH is not set: the previous commit is unknown",)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {}, (
            f"cannot read the event payload {path} ({exc}): the previous commit is unknown",
        )
    return _dict(data), ()


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _sha(value: object) -> str:
    """A commit id, or '' for none (missing, the zero id, not hexadecimal)."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if not text or text == ZERO_SHA or not all(c in "0123456789abcdef" for c in text):
        return ""
    return text


def _time(value: object) -> datetime | None:
    """Epoch seconds (GitHub's push payload) or ISO 8601 (GitLab, other GitHub payloads)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None
