"""Helpers for ``grade ci`` tests: real git repositories built in tmp_path, and the variables GitHub
Actions and GitLab CI set for a job, written as those services write them.

GitHub: https://docs.github.com/actions/reference/variables-reference and the ``push`` webhook
payload (``before``, ``after``, ``created``, ``deleted``, ``forced``, ``repository.pushed_at``
in epoch seconds, ``pusher``, ``sender``). GitLab: the predefined CI/CD variables
(``CI_COMMIT_BEFORE_SHA`` is forty zeros for a new branch or a first commit).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TINY = FIXTURES / "assignments" / "tiny"
ZERO = "0" * 40
PUSHED_AT = 1_790_000_000
"""Epoch seconds of the push, as GitHub's push payload carries ``repository.pushed_at``."""

FULL = (
    "import numpy as np",
    "def square(x):\n    return x * x",
    "md:**Ответ q1:** квадрат растёт быстрее линейной функции",
    "class Counter:\n    def __init__(self, start=0):\n        self.total = start\n"
    "    def add(self, n):\n        self.total += n\n        return self.total",
)
"""Every check passes: 2 public points, 1 hidden point, 1 answer point."""
PARTIAL = (
    "def square(x):\n    return x * x if isinstance(x, int) else 0",
    "print('exploring')\nraise ValueError('my exploration failed')",
    "class Counter:\n    def __init__(self, start=0):\n        self.total = start\n"
    "    def add(self, n):\n        return 0",
)
"""square of 2 passes, square of an array fails, cell 2 raises, no answer, Counter wrong."""


def notebook(*sources: str) -> str:
    cells = [
        nbformat.v4.new_markdown_cell(s[3:])
        if s.startswith("md:")
        else nbformat.v4.new_code_cell(s)
        for s in sources
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["dl_grader"] = {"assignment": "tiny"}
    return nbformat.writes(nb)


def git(where: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(where), *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class Repo:
    """A git repository in a folder, committed to by the test."""

    def __init__(self, path: Path, *, init: bool = True) -> None:
        self.path = path
        if init:
            path.mkdir(parents=True, exist_ok=True)
            self.git("init", "-q", "-b", "main")
        self.git("config", "user.name", "Test")
        self.git("config", "user.email", "test@example.edu")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str) -> str:
        return git(self.path, *args)

    def write(self, rel: str, text: str) -> None:
        path = self.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def commit(self, message: str = "work", **files: str) -> str:
        for rel, text in files.items():
            self.write(rel, text)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def add_course(self, *, hidden: bool) -> None:
        """The tiny assignment's folder; students' repositories get it without hidden parts."""
        target = self.path / "assignments" / "tiny"
        shutil.copytree(TINY, target)
        if not hidden:
            shutil.rmtree(target / "tests" / "hidden")
            shutil.rmtree(target / "data" / "hidden")


@dataclass
class Job:
    """One CI job's variables and the files the runner gives it."""

    env: dict[str, str]
    root: Path
    summary: Path | None = None
    output: Path | None = None
    out: Path = field(default_factory=Path)

    def outputs(self) -> dict[str, str]:
        assert self.output is not None
        text = self.output.read_text(encoding="utf-8")
        return dict(line.split("=", 1) for line in text.splitlines() if line)


def github_job(
    tmp: Path,
    repo: Repo,
    *,
    actor: str,
    before: str = "",
    after: str = "",
    event: str = "push",
    forced: bool = False,
    repository: str = "dl-course/class-2026",
    job: str = "grade",
    ref: str = "refs/heads/main",
    payload: dict[str, object] | None = None,
) -> Job:
    """The variables of a GitHub Actions job and the push event's payload file."""
    after = after or repo.head()
    if payload is None:
        payload = push_payload(
            before=before, after=after, forced=forced, actor=actor, repository=repository, ref=ref
        )
    runner = tmp / f"runner-{after[:8]}-{event}"
    runner.mkdir(parents=True, exist_ok=True)
    (runner / "event.json").write_text(json.dumps(payload), encoding="utf-8")
    summary, output = runner / "step_summary", runner / "output"
    summary.touch()
    output.touch()
    env = {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(runner / "event.json"),
        "GITHUB_SHA": after,
        "GITHUB_REF": ref,
        "GITHUB_REF_NAME": ref.rpartition("/")[2],
        "GITHUB_REF_TYPE": "branch",
        "GITHUB_REPOSITORY": repository,
        "GITHUB_REPOSITORY_OWNER": repository.partition("/")[0],
        "GITHUB_ACTOR": actor,
        "GITHUB_TRIGGERING_ACTOR": actor,
        "GITHUB_JOB": job,
        "GITHUB_WORKFLOW": "grade-ci",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_RUN_NUMBER": "7",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_API_URL": "https://api.github.com",
        "GITHUB_WORKSPACE": str(repo.path),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_ENV": str(runner / "env"),
        "RUNNER_OS": "Linux",
        "RUNNER_ENVIRONMENT": "github-hosted",
        "RUNNER_TEMP": str(runner),
    }
    return Job(env, runner, summary, output, runner / "grade-ci")


def push_payload(
    *, before: str, after: str, forced: bool, actor: str, repository: str, ref: str
) -> dict[str, object]:
    """A ``push`` webhook payload, trimmed to the fields GitHub always sends."""
    created = not before
    return {
        "ref": ref,
        "before": before or ZERO,
        "after": after,
        "created": created,
        "deleted": False,
        "forced": forced,
        "base_ref": None,
        "compare": f"https://github.com/{repository}/compare/{(before or ZERO)[:12]}...{after[:12]}",  # noqa: E501
        "commits": [],
        "head_commit": {"id": after},
        "pusher": {"name": actor, "email": f"{actor}@users.noreply.github.com"},
        "sender": {"login": actor, "type": "User"},
        "repository": {
            "full_name": repository,
            "name": repository.partition("/")[2],
            "default_branch": "main",
            "master_branch": "main",
            "pushed_at": PUSHED_AT,
        },
    }


def gitlab_job(
    tmp: Path,
    repo: Repo,
    *,
    actor: str,
    before: str = "",
    source: str = "push",
    project: str = "dl-course/class-2026",
    branch: str = "main",
) -> Job:
    """The predefined variables of a GitLab CI job."""
    sha = repo.head()
    runner = tmp / f"gitlab-{sha[:8]}-{source}"
    runner.mkdir(parents=True, exist_ok=True)
    env = {
        "CI": "true",
        "GITLAB_CI": "true",
        "CI_SERVER_URL": "https://gitlab.example.edu",
        "CI_PIPELINE_SOURCE": source,
        "CI_PIPELINE_ID": "901",
        "CI_PIPELINE_CREATED_AT": "2026-09-21T12:00:00Z",
        "CI_JOB_NAME": "grade-ci",
        "CI_JOB_ID": "5001",
        "CI_COMMIT_SHA": sha,
        "CI_COMMIT_BEFORE_SHA": before or ZERO,
        "CI_COMMIT_REF_NAME": branch,
        "CI_COMMIT_BRANCH": branch,
        "CI_COMMIT_REF_SLUG": branch,
        "CI_DEFAULT_BRANCH": "main",
        "CI_PROJECT_DIR": str(repo.path),
        "CI_PROJECT_PATH": project,
        "CI_PROJECT_NAMESPACE": project.partition("/")[0],
        "GITLAB_USER_LOGIN": actor,
        "GITLAB_USER_ID": "77",
    }
    return Job(env, runner, out=runner / "grade-ci")


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str


Run = Callable[..., Ran]


def commands(stdout: str) -> list[str]:
    """Log lines the GitHub runner would read as workflow commands."""
    return [line for line in stdout.splitlines() if line.lstrip().startswith(("::", "##["))]
