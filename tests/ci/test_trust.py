"""Hidden tests run only in a job students cannot change; every refusal names its reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from ci_jobs import FULL, Repo, Run, github_job, gitlab_job, notebook

from grader.ci.environment import CIEnv, Event, Provider
from grader.ci.git import Git
from grader.ci.plan import Layout
from grader.ci.roster import parse_roster
from grader.ci.trust import Setup, decide, exposed
from grader.core.results import GradeResult
from grader.sandbox.choose import Backend

GRADING = "dl-course/grading"
ROSTER = parse_roster("login,folder,role\nivan-petrov,ivanov,\nprof-k,,staff\n", source="r.csv")


def env(**changes: object) -> CIEnv:
    base: dict[str, object] = {
        "provider": Provider.GITHUB,
        "event": Event.SCHEDULE,
        "event_name": "schedule",
        "repository": GRADING,
        "workspace": Path("."),
        "head": "a" * 40,
        "actor": "prof-k",
        "job": "official",
    }
    return CIEnv(**{**base, **changes})  # type: ignore[arg-type]


def setup(**changes: object) -> Setup:
    base: dict[str, object] = {
        "layout": Layout.CLASS_REPO,
        "trusted": (GRADING,),
        "roster": ROSTER,
        "backend": Backend.DOCKER,
    }
    return Setup(**{**base, **changes})  # type: ignore[arg-type]


def test_the_instructors_repository_is_trusted() -> None:
    assert decide(env(), setup()).allowed
    assert decide(env(repository="DL-Course/Grading"), setup()).allowed  # names ignore case
    assert decide(env(provider=Provider.GITLAB, event=Event.PUSH), setup()).allowed


@pytest.mark.parametrize(
    ("ci", "how", "reason"),
    [
        ({"job": "run-autograding-tests"}, {}, "student's own repository"),
        ({}, {"layout": Layout.CLASSROOM}, "student's own repository"),
        ({"event": Event.PULL_REQUEST, "event_name": "pull_request_target"}, {}, "has merged"),
        ({"event": Event.PULL_REQUEST, "event_name": "merge_request_event"}, {}, "has merged"),
        ({"repository": "dl-course/class-2026"}, {}, "is not listed as trusted"),
        ({}, {"trusted": ()}, "listed: none"),
        ({"actor": "Ivan-Petrov", "event": Event.PUSH}, {}, "is a student on the roster"),
        ({}, {"backend": Backend.LOCAL}, "use --backend docker"),
    ],
)  # fmt: skip
def test_each_sign_of_an_untrusted_job_is_a_reason(
    ci: dict[str, object], how: dict[str, object], reason: str
) -> None:
    trust = decide(env(**ci), setup(**how))
    assert not trust.allowed
    assert len(trust.reasons) == 1 and reason in trust.reasons[0]


def test_all_reasons_are_given_at_once() -> None:
    ci = env(job="run-autograding-tests", event=Event.PULL_REQUEST, repository="x/y")
    trust = decide(ci, setup(backend=Backend.LOCAL))
    assert len(trust.reasons) == 4


def test_local_backend_only_when_allowed_explicitly() -> None:
    assert decide(env(), setup(backend=Backend.LOCAL, allow_unconfined=True)).allowed


def test_committed_hidden_files_are_found(repo: Repo) -> None:
    repo.add_course(hidden=True)
    repo.commit("oops")
    root = repo.path / "assignments" / "tiny"
    found = exposed(Git(repo.path), [root / "tests" / "hidden", root / "data" / "hidden"])
    assert found == [
        "assignments/tiny/data/hidden/secret.txt",
        "assignments/tiny/tests/hidden/test_counter.py",
    ]
    assert exposed(Git(repo.path), [Path("/elsewhere/tests/hidden")]) == []


# ---------------------------------------------------------------- end to end
def instructor_repo(repo: Repo) -> None:
    """The staff-only grading repository: full assignment, submissions pulled in by a job."""
    repo.add_course(hidden=True)
    repo.commit(
        "pull submissions",
        **{
            "roster.csv": "login,folder,role\nivan-petrov,ivanov,\nprof-k,,staff\n",
            "submissions/ivanov/tiny.ipynb": notebook(*FULL),
        },
    )


def test_hidden_tests_run_in_the_trusted_repository(
    tmp_path: Path, repo: Repo, grade_ci: Run
) -> None:
    instructor_repo(repo)
    job = github_job(
        tmp_path, repo, actor="prof-k", event="schedule", repository=GRADING, payload={}
    )
    job.env["GRADER_TRUSTED_REPOS"] = f"other/repo, {GRADING}"
    args = ("--assignment", "tiny", "--layout", "class-repo", "--roster", "roster.csv")
    ran = grade_ci(job, *args, "--hidden", "--allow-unconfined")
    assert ran.code == 0, ran.stdout + ran.stderr
    result = GradeResult.read(job.out / "ivanov" / "result.json")
    assert result.hidden_included and result.points == 4.0
    assert any(t.hidden and t.id.endswith("test_counter") for t in result.tests)
    summary = job.summary.read_text(encoding="utf-8")  # type: ignore[union-attr]
    assert "· with hidden tests" in summary and "committed" not in summary  # staff repository


def test_unconfined_hidden_run_is_refused_with_its_reason(
    tmp_path: Path, repo: Repo, grade_ci: Run
) -> None:
    instructor_repo(repo)
    job = gitlab_job(tmp_path, repo, actor="prof-k", source="schedule", project=GRADING)
    args = ("--assignment", "tiny", "--layout", "class-repo", "--roster", "roster.csv")
    ran = grade_ci(job, *args, "--hidden", "--trusted-repo", GRADING)
    assert ran.code == 2
    assert "use --backend docker" in ran.stdout
    assert not (job.out / "ivanov").exists()
    summary = (job.out / "step-summary.md").read_text(encoding="utf-8")
    assert "Hidden tests refused" in summary and "use --backend docker" in summary


def test_hidden_without_hidden_tests_is_a_usage_error(
    tmp_path: Path, repo: Repo, grade_ci: Run
) -> None:
    repo.add_course(hidden=False)
    repo.commit("x", **{"tiny.ipynb": notebook(*FULL)})
    job = github_job(tmp_path, repo, actor="prof-k", repository=GRADING)
    ran = grade_ci(job, "--assignment", "tiny", "--hidden", "--trusted-repo", GRADING)
    assert ran.code == 2 and "has no hidden tests" in ran.stderr


@pytest.mark.docker
@pytest.mark.slow
def test_official_run_with_hidden_tests_in_docker(
    tmp_path: Path, repo: Repo, grade_ci: Run, docker_engine: object
) -> None:
    """The trusted setup as docs/ci.md describes it: the staff repository, a scheduled job,
    the Docker sandbox; no override needed."""
    instructor_repo(repo)
    job = github_job(
        tmp_path, repo, actor="prof-k", event="schedule", repository=GRADING, payload={}
    )
    args = ("--assignment", "tiny", "--layout", "class-repo", "--roster", "roster.csv")
    ran = grade_ci(job, *args, "--hidden", "--trusted-repo", GRADING, "--backend", "docker")
    assert ran.code == 0, ran.stdout + ran.stderr
    result = GradeResult.read(job.out / "ivanov" / "result.json")
    assert result.hidden_included and result.points == 4.0
