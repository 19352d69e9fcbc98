"""``grade ci`` on one class repository (a folder per student), end to end on GitHub and GitLab.

Each test builds the repositories it needs: the class repository as the instructor set it up
(public assignment files, roster), the students' pushes, a bare ``origin``, and the clone a CI
runner makes after the push. Then it runs the job with the service's variables and reads what
came back: who was graded, exit code, summary, annotations, JUnit.
"""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from ci_jobs import FULL, PARTIAL, Job, Repo, Run, commands, git, github_job, gitlab_job, notebook

from grader.results import GradeResult, Status

ROSTER = "login,folder,role\nivan-petrov,ivanov,\nmaria-s,smirnova,\nprof-k,,staff\n"
CLASS_ARGS = ("--assignment", "tiny", "--layout", "class-repo", "--roster", "roster.csv")


def setup_class(repo: Repo) -> str:
    """The instructor's first commit: assignment (public part), roster, one folder each."""
    repo.add_course(hidden=False)
    return repo.commit(
        "set up the class",
        **{
            "roster.csv": ROSTER,
            "README.md": "Put your notebook in submissions/<you>/\n",
            "submissions/ivanov/.keep": "",
            "submissions/smirnova/.keep": "",
        },
    )


def graded(job: Job) -> dict[str, GradeResult]:
    record = json.loads((job.out / "ci.json").read_text(encoding="utf-8"))
    return {
        s["student"]: GradeResult.read(job.out / s["folder"] / "result.json")
        for s in record["students"]
    }


def ci_record(job: Job) -> dict[str, object]:
    data = json.loads((job.out / "ci.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def clone(origin: Path, where: Path) -> Repo:
    """What actions/checkout with fetch-depth 0 leaves: a full clone of the pushed state."""
    git(where.parent, "clone", "-q", "--no-local", str(origin), str(where))
    return Repo(where, init=False)


def bare_origin(tmp_path: Path, repo: Repo) -> Path:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(origin, "config", "uploadpack.allowAnySHA1InWant", "true")  # as GitHub and GitLab allow
    repo.git("remote", "add", "origin", str(origin))
    return origin


# ---------------------------------------------------------------- GitHub Actions
def test_push_grades_the_changed_folder_only(tmp_path: Path, repo: Repo, grade_ci: Run) -> None:
    before = setup_class(repo)
    repo.commit("smirnova starts", **{"submissions/smirnova/tiny.ipynb": notebook(*FULL)})
    before = repo.head()
    repo.commit("part 1", **{"submissions/ivanov/tiny.ipynb": notebook(*PARTIAL)})
    repo.commit("part 2", **{"submissions/ivanov/notes.txt": "two commits in one push"})
    job = github_job(tmp_path, repo, actor="ivan-petrov", before=before)
    ran = grade_ci(job, *CLASS_ARGS)
    assert ran.code == 0, ran.stdout + ran.stderr
    assert list(graded(job)) == ["ivanov"]  # smirnova's folder did not change
    assert graded(job)["ivanov"].points == 1.0
    summary = job.summary.read_text(encoding="utf-8")  # type: ignore[union-attr]
    assert f"compared with the previous commit of the branch ({before[:12]})" in summary
    assert "| ivanov | 1 / 3 | `graded` | 1 / 2 | 0 / 1 |" in summary
    outputs = job.outputs()
    assert outputs == {"graded": "1", "violations": "0", "points": "1", "max-points": "3",
                       "status": "graded"}  # fmt: skip
    assert "result" not in outputs  # Classroom's output belongs to the classroom layout
    cell = next(ln for ln in commands(ran.stdout) if "cell 2 raised" in ln)
    assert cell.startswith("::error file=submissions/ivanov/tiny.ipynb,line=")


def test_changes_outside_ones_folder_are_refused(tmp_path: Path, repo: Repo, grade_ci: Run) -> None:
    """A student edits a classmate's notebook, the README, and the roster (to claim the
    classmate's folder): none of it is accepted; their own folder is still graded."""
    setup_class(repo)
    repo.commit("smirnova", **{"submissions/smirnova/tiny.ipynb": notebook(*FULL)})
    repo.commit("ivanov", **{"submissions/ivanov/tiny.ipynb": notebook(*FULL)})
    before = repo.head()
    repo.commit(
        "helping",
        **{
            "submissions/smirnova/tiny.ipynb": notebook(*PARTIAL),
            "README.md": "changed\n",
            "roster.csv": ROSTER + "ivan-petrov,smirnova,\n",
        },
    )
    job = github_job(tmp_path, repo, actor="ivan-petrov", before=before)
    ran = grade_ci(job, *CLASS_ARGS)
    assert ran.code == 1, ran.stdout + ran.stderr
    assert list(graded(job)) == ["ivanov"]  # not smirnova: the change was not hers
    violations = {v["path"]: v["reason"] for v in ci_record(job)["violations"]}  # type: ignore[union-attr]
    assert set(violations) == {"submissions/smirnova", "README.md", "roster.csv"}
    assert "not theirs" in violations["submissions/smirnova"]
    assert job.outputs()["violations"] == "3"
    errors = [ln for ln in commands(ran.stdout) if ln.startswith("::error ")]
    assert sum("not graded" in ln for ln in errors) == 3


def test_staff_may_change_anything(tmp_path: Path, repo: Repo, grade_ci: Run) -> None:
    before = setup_class(repo)
    repo.commit(
        "fix both",
        **{
            "submissions/ivanov/tiny.ipynb": notebook(*FULL),
            "submissions/smirnova/tiny.ipynb": notebook(*PARTIAL),
            "README.md": "new rules\n",
        },
    )
    job = github_job(tmp_path, repo, actor="Prof-K", before=before)  # logins ignore case
    ran = grade_ci(job, *CLASS_ARGS)
    assert ran.code == 0, ran.stdout + ran.stderr
    assert sorted(graded(job)) == ["ivanov", "smirnova"]


def test_force_push_compares_with_the_overwritten_commit(
    tmp_path: Path, repo: Repo, grade_ci: Run
) -> None:
    """The overwritten commit is not in the runner's fresh clone: it is fetched from origin."""
    setup_class(repo)
    origin = bare_origin(tmp_path, repo)
    repo.commit("smirnova", **{"submissions/smirnova/tiny.ipynb": notebook(*FULL)})
    repo.commit("draft", **{"submissions/ivanov/tiny.ipynb": notebook(*PARTIAL)})
    repo.git("push", "-q", "origin", "main")
    overwritten = repo.head()
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.commit("clean history", **{"submissions/ivanov/tiny.ipynb": notebook(*FULL)})
    repo.git("push", "-q", "--force", "origin", "main")
    runner = clone(origin, tmp_path / "checkout")
    assert not present(runner, overwritten)  # as on a real runner: only reachable commits
    job = github_job(tmp_path, runner, actor="ivan-petrov", before=overwritten, forced=True)
    ran = grade_ci(job, *CLASS_ARGS)
    assert ran.code == 0, ran.stdout + ran.stderr
    assert list(graded(job)) == ["ivanov"]
    assert graded(job)["ivanov"].points == 3.0
    assert ci_record(job)["base"] == overwritten
    summary = job.summary.read_text(encoding="utf-8")  # type: ignore[union-attr]
    assert "compared with the branch before this force-push" in summary


def present(repo: Repo, sha: str) -> bool:
    done = subprocess.run(["git", "-C", str(repo.path), "cat-file", "-e", sha], check=False)
    return done.returncode == 0


def test_new_branch_compares_with_where_it_left_main(
    tmp_path: Path, repo: Repo, grade_ci: Run
) -> None:
    setup_class(repo)
    origin = bare_origin(tmp_path, repo)
    repo.commit("smirnova", **{"submissions/smirnova/tiny.ipynb": notebook(*FULL)})
    repo.git("push", "-q", "origin", "main")
    repo.git("checkout", "-q", "-b", "ivanov-hw")
    repo.commit("one", **{"submissions/ivanov/tiny.ipynb": notebook(*PARTIAL)})
    repo.commit("two", **{"submissions/ivanov/tiny.ipynb": notebook(*FULL)})
    repo.git("push", "-q", "origin", "ivanov-hw")
    runner = clone(origin, tmp_path / "checkout")
    runner.git("checkout", "-q", "ivanov-hw")
    job = github_job(tmp_path, runner, actor="ivan-petrov", ref="refs/heads/ivanov-hw")
    ran = grade_ci(job, *CLASS_ARGS)  # created: true, before: forty zeros
    assert ran.code == 0, ran.stdout + ran.stderr
    assert list(graded(job)) == ["ivanov"]  # not smirnova, whose work is on main already
    summary = job.summary.read_text(encoding="utf-8")  # type: ignore[union-attr]
    assert "a new branch: compared with where it left main" in summary


def test_first_commit_grades_every_folder_in_it(tmp_path: Path, repo: Repo, grade_ci: Run) -> None:
    repo.add_course(hidden=False)
    repo.commit(
        "import last year's class",
        **{
            "roster.csv": ROSTER,
            "submissions/ivanov/tiny.ipynb": notebook(*PARTIAL),
            "submissions/smirnova/tiny.ipynb": notebook(*FULL),
        },
    )
    job = github_job(tmp_path, repo, actor="prof-k")
    ran = grade_ci(job, *CLASS_ARGS)
    assert ran.code == 0, ran.stdout + ran.stderr
    assert {k: v.points for k, v in graded(job).items()} == {"ivanov": 1.0, "smirnova": 3.0}
    summary = job.summary.read_text(encoding="utf-8")  # type: ignore[union-attr]
    assert "the first commit: every file" in summary


def test_unknown_previous_commit_grades_everything(
    tmp_path: Path, repo: Repo, grade_ci: Run
) -> None:
    """A shallow checkout without the previous commit and no origin to fetch it from."""
    setup_class(repo)
    repo.commit("both", **{"submissions/ivanov/tiny.ipynb": notebook(*FULL),
                           "submissions/smirnova/tiny.ipynb": notebook(*FULL)})  # fmt: skip
    repo.commit("ivanov again", **{"submissions/ivanov/notes.txt": "x"})
    job = github_job(tmp_path, repo, actor="ivan-petrov", before="ab" * 20)
    ran = grade_ci(job, *CLASS_ARGS)
    assert ran.code == 0, ran.stdout + ran.stderr
    assert sorted(graded(job)) == ["ivanov", "smirnova"]
    summary = job.summary.read_text(encoding="utf-8")  # type: ignore[union-attr]
    assert "is not in this clone" in summary and "fetch-depth: 0" in summary
    assert "ownership could not be checked" in summary


def test_scheduled_run_grades_every_submission(tmp_path: Path, repo: Repo, grade_ci: Run) -> None:
    setup_class(repo)
    repo.commit("both", **{"submissions/ivanov/tiny.ipynb": notebook(*FULL),
                           "submissions/smirnova/tiny.ipynb": notebook(*PARTIAL)})  # fmt: skip
    job = github_job(
        tmp_path, repo, actor="prof-k", event="schedule", payload={"schedule": "0 3 * * *"}
    )
    ran = grade_ci(job, *CLASS_ARGS)
    assert ran.code == 0, ran.stdout + ran.stderr
    assert sorted(graded(job)) == ["ivanov", "smirnova"]


# ---------------------------------------------------------------- GitLab CI
def test_gitlab_push_writes_junit_and_plain_log_lines(
    tmp_path: Path, repo: Repo, grade_ci: Run
) -> None:
    before = setup_class(repo)
    repo.commit("mine", **{"submissions/smirnova/tiny.ipynb": notebook(*PARTIAL)})
    job = gitlab_job(tmp_path, repo, actor="maria-s", before=before)
    ran = grade_ci(job, *CLASS_ARGS)
    assert ran.code == 0, ran.stdout + ran.stderr
    assert list(graded(job)) == ["smirnova"]
    assert commands(ran.stdout) == []  # GitLab has no workflow commands
    assert "grade ci error: smirnova: cell 2 raised ValueError: my exploration failed" in ran.stdout
    junit = ET.parse(job.out / "junit.xml").getroot()
    suite = junit.find("testsuite")
    assert suite is not None and suite.get("name") == "smirnova"
    failed = [c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None]
    assert failed == ["test_square_array", "answer q1"]
    summary = (job.out / "step-summary.md").read_text(encoding="utf-8")
    assert "| smirnova | 1 / 3 |" in summary
    assert ci_record(job)["provider"] == "gitlab"


def test_gitlab_force_push_is_recognised_from_history(
    tmp_path: Path, repo: Repo, grade_ci: Run
) -> None:
    """GitLab does not say a push was forced; the previous tip not being an ancestor does."""
    setup_class(repo)
    repo.commit("draft", **{"submissions/smirnova/tiny.ipynb": notebook(*PARTIAL)})
    old = repo.head()
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.commit("redo", **{"submissions/smirnova/tiny.ipynb": notebook(*FULL)})
    job = gitlab_job(tmp_path, repo, actor="maria-s", before=old)
    ran = grade_ci(job, *CLASS_ARGS)
    assert ran.code == 0, ran.stdout + ran.stderr
    assert graded(job)["smirnova"].points == 3.0
    assert "force-push" in str(ci_record(job)["changes"])


def test_gitlab_new_branch_without_main_in_the_clone(
    tmp_path: Path, repo: Repo, grade_ci: Run
) -> None:
    """CI_COMMIT_BEFORE_SHA is forty zeros and the clone has only the new branch."""
    setup_class(repo)
    repo.git("checkout", "-q", "-b", "smirnova-hw")
    repo.commit("mine", **{"submissions/smirnova/tiny.ipynb": notebook(*FULL)})
    repo.git("branch", "-q", "-D", "main")
    job = gitlab_job(tmp_path, repo, actor="maria-s", branch="smirnova-hw")
    ran = grade_ci(job, *CLASS_ARGS)
    assert ran.code == 0, ran.stdout + ran.stderr
    # nothing to compare with: every student's folder, and a note saying why
    results = graded(job)
    assert (results["smirnova"].points, results["ivanov"].status) == (3.0, Status.NOT_FOUND)
    assert "every submission is graded" in str(ci_record(job)["changes"])


def test_pull_request_compares_with_its_base(tmp_path: Path, repo: Repo, grade_ci: Run) -> None:
    """A pull_request job checks out a merge commit; the payload names the base's tip."""
    start = setup_class(repo)
    repo.git("checkout", "-q", "-b", "ivanov-hw")
    branch = repo.commit("mine", **{"submissions/ivanov/tiny.ipynb": notebook(*FULL)})
    repo.git("checkout", "-q", "main")
    base = repo.commit("smirnova meanwhile", **{"submissions/smirnova/tiny.ipynb": notebook(*FULL)})
    repo.git("merge", "-q", "--no-ff", "-m", "Merge pull request", "ivanov-hw")
    payload = {
        "action": "synchronize",
        "before": start,  # the branch's own previous head: not what a merge commit compares to
        "after": branch,
        "number": 3,
        "pull_request": {"base": {"sha": base, "ref": "main"}, "head": {"sha": branch}},
    }
    job = github_job(tmp_path, repo, actor="ivan-petrov", event="pull_request", payload=payload)
    ran = grade_ci(job, *CLASS_ARGS)
    assert ran.code == 0, ran.stdout + ran.stderr
    assert list(graded(job)) == ["ivanov"]  # not smirnova: her work is in the base
    assert ci_record(job)["base"] == base
    assert "compared with the request's base" in str(ci_record(job)["changes"])


def test_a_symlinked_submission_is_not_graded(tmp_path: Path, repo: Repo, grade_ci: Run) -> None:
    """A link could point at a classmate's notebook, or at files of the runner."""
    setup_class(repo)
    repo.commit("smirnova", **{"submissions/smirnova/tiny.ipynb": notebook(*FULL)})
    before = repo.head()
    (repo.path / "submissions/ivanov/tiny.ipynb").symlink_to("../smirnova/tiny.ipynb")
    repo.commit("borrowed")
    job = github_job(tmp_path, repo, actor="ivan-petrov", before=before)
    ran = grade_ci(job, *CLASS_ARGS)
    assert ran.code == 1, ran.stdout + ran.stderr
    assert not (job.out / "ivanov").exists()
    (violation,) = ci_record(job)["violations"]  # type: ignore[misc]
    assert violation["path"] == "submissions/ivanov"
    assert "submissions/ivanov/tiny.ipynb is a symbolic link" in violation["reason"]


def test_grader_failure_is_exit_2_and_a_result(tmp_path: Path, repo: Repo, grade_ci: Run) -> None:
    """The assignment's own test file is broken: the submission gets a grader_error result
    (it is not the student's fault) and the job says grading could not run."""
    before = setup_class(repo)
    repo.commit(
        "mine and a broken test",
        **{
            "submissions/smirnova/tiny.ipynb": notebook(*FULL),
            "assignments/tiny/tests/public/test_square.py": "def test_(:\n",
        },
    )
    job = gitlab_job(tmp_path, repo, actor="prof-k", before=before)
    ran = grade_ci(job, *CLASS_ARGS)
    assert ran.code == 2
    assert "the grader failed on 1 submission(s)" in ran.stdout
    assert graded(job)["smirnova"].status is Status.GRADER_ERROR
