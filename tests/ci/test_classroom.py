"""``grade ci`` as a GitHub Classroom runner in a student's own repository, end to end.

The repository is built by the test (the template's files, then the student's pushes); the job
runs with the variables GitHub sets; the checks read what the job hands back: the step output
Classroom's reporter decodes, the step summary, the annotations, JUnit and result.json.
"""

from __future__ import annotations

import base64
import json
import shlex
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from ci_jobs import FULL, PARTIAL, PUSHED_AT, Repo, Run, commands, github_job, notebook
from typer.testing import CliRunner

from grader import cli
from grader.ci.plan import Layout
from grader.ci.templates import render
from grader.results import GradeResult, Status

STUDENT = "ivan-petrov"
REPOSITORY = "dl-course/tiny-ivan-petrov"


def classroom_repo(repo: Repo) -> str:
    """The template repository as Classroom copies it: public assignment files, no notebook."""
    repo.add_course(hidden=False)
    return repo.commit("Initial commit")


def decode(job_output: str) -> dict[str, object]:
    """What education/autograding-grading-reporter does with ``<RUNNER>_RESULTS``."""
    data = json.loads(base64.b64decode(job_output).decode("utf-8"))
    assert isinstance(data, dict)
    return data


def template_args(out: Path) -> list[str]:
    """The ``grade ci`` command line of the generated Classroom workflow, with the local
    backend and the output under tmp_path."""
    text = render(layout=Layout.CLASSROOM, gitlab=False, assignment="tiny").text
    line = next(ln.strip() for ln in text.splitlines() if ln.strip().startswith("grade ci "))
    args = shlex.split(line)[2:]
    swap = {"--backend": "local", "--out": str(out)}
    return [swap.get(args[i - 1], a) if i else a for i, a in enumerate(args)]


def test_partial_submission_reports_points_to_classroom(
    tmp_path: Path, repo: Repo, grade_ci: Run
) -> None:
    first = classroom_repo(repo)
    repo.commit("my homework", **{"tiny.ipynb": notebook(*PARTIAL)})
    job = github_job(
        tmp_path,
        repo,
        actor=STUDENT,
        before=first,
        repository=REPOSITORY,
        job="run-autograding-tests",
    )
    ran = grade_ci(job, *template_args(job.out))
    assert ran.code == 0, ran.stdout + ran.stderr  # graded: points do not fail the job

    outputs = job.outputs()
    payload = decode(outputs["result"])
    assert payload["version"] == 1 and payload["status"] == "fail"
    assert payload["max_score"] == 3  # public tests 1 + 1, written answer 1; hidden not counted
    tests = {t["name"]: t for t in payload["tests"]}  # type: ignore[union-attr]
    assert tests["funcs: test_square_of_two"]["status"] == "pass"
    assert tests["funcs: test_square_of_two"]["score"] == 1
    assert tests["funcs: test_square_array"]["status"] == "fail"
    assert tests["funcs: test_square_array"]["score"] == 0
    assert tests["written answer q1"]["status"] == "fail"
    assert "test_counter" not in json.dumps(payload)  # hidden tests are not even named
    assert sum(t["score"] for t in tests.values()) == 1  # Classroom shows "Points 1/3"
    assert (outputs["points"], outputs["status"], outputs["graded"]) == ("1", "graded", "1")

    summary = job.summary.read_text(encoding="utf-8")  # type: ignore[union-attr]
    assert "## grade ci · Tiny (`tiny`) · public checks only" in summary
    assert "| tiny-ivan-petrov | 1 / 3 | `graded` | 1 / 2 | 0 / 1 |" in summary
    assert "`test_square_array` (0 / 1)" in summary
    assert "answer `q1`" in summary
    assert "cell 2 raised ValueError: my exploration failed" in summary
    assert "Hidden checks run only at grading" in summary

    lines = commands(ran.stdout)
    cell = next(ln for ln in lines if "cell 2 raised ValueError" in ln)
    assert cell.startswith("::error file=tiny.ipynb,line=")
    line = int(cell.split("line=")[1].split(",")[0])
    text = (repo.path / "tiny.ipynb").read_text(encoding="utf-8").splitlines()
    assert text[line - 1].strip() == "{"  # the cell's opening brace ...
    assert "my exploration failed" in "\n".join(text[line : line + 20])  # ... of that cell
    assert any(ln.startswith("::warning ") and "test_square_array" in ln for ln in lines)
    assert any(ln.startswith("::notice ") and "1 / 3 points" in ln for ln in lines)

    stored = GradeResult.read(job.out / "tiny-ivan-petrov" / "result.json")
    assert (stored.status, stored.points, stored.hidden_included) == (Status.GRADED, 1.0, False)
    assert stored.submission == "tiny.ipynb"
    junit = ET.parse(job.out / "junit.xml").getroot()
    assert junit.get("failures") == "2" and junit.get("tests") == "3"  # array test, answer
    rebuilt = CliRunner().invoke(cli.app, ["report", str(job.out), "--no-histogram"])
    assert rebuilt.exit_code == 0, rebuilt.output  # the artifact is a `grade batch` folder
    record = json.loads((job.out / "ci.json").read_text(encoding="utf-8"))
    assert record["students"][0]["points"] == 1.0 and record["layout"] == "classroom"
    batch = json.loads((job.out / "tiny-ivan-petrov" / "batch.json").read_text(encoding="utf-8"))
    pushed = datetime.fromtimestamp(PUSHED_AT, tz=UTC)
    assert datetime.fromisoformat(batch["submitted_at"]) == pushed  # GitHub's clock, not git's


def test_full_marks_pass_in_classroom(tmp_path: Path, repo: Repo, grade_ci: Run) -> None:
    first = classroom_repo(repo)
    repo.commit("done", **{"tiny.ipynb": notebook(*FULL)})
    job = github_job(tmp_path, repo, actor=STUDENT, before=first, repository=REPOSITORY)
    ran = grade_ci(job, *template_args(job.out))
    assert ran.code == 0, ran.stdout + ran.stderr
    payload = decode(job.outputs()["result"])
    assert payload["status"] == "pass"
    assert sum(t["score"] for t in payload["tests"]) == payload["max_score"] == 3  # type: ignore[union-attr]


def test_missing_notebook_is_a_zero_with_a_reason(
    tmp_path: Path, repo: Repo, grade_ci: Run
) -> None:
    """The first commit of the template, before the student wrote anything."""
    classroom_repo(repo)
    job = github_job(tmp_path, repo, actor=STUDENT, repository=REPOSITORY)  # created: before=0
    ran = grade_ci(job, *template_args(job.out))
    assert ran.code == 0, ran.stdout + ran.stderr
    payload = decode(job.outputs()["result"])
    assert payload["status"] == "error" and payload["max_score"] == 3
    first = payload["tests"][0]  # type: ignore[index]
    assert first["name"] == "notebook" and "not_found" in first["message"]
    assert "tiny.ipynb does not exist" in job.summary.read_text(encoding="utf-8")  # type: ignore[union-attr]


def test_fail_below_is_the_only_way_points_fail_the_job(
    tmp_path: Path, repo: Repo, grade_ci: Run
) -> None:
    first = classroom_repo(repo)
    repo.commit("my homework", **{"tiny.ipynb": notebook(*PARTIAL)})
    job = github_job(tmp_path, repo, actor=STUDENT, before=first, repository=REPOSITORY)
    ran = grade_ci(job, "--assignment", "tiny", "--fail-below", "50%")
    assert ran.code == 1, ran.stdout + ran.stderr
    assert "below --fail-below: tiny-ivan-petrov" in ran.stdout
    again = grade_ci(job, "--assignment", "tiny", "--fail-below", "1", "--out", str(tmp_path / "o"))
    assert again.code == 0  # 1 point is not below 1
    bad = grade_ci(job, "--assignment", "tiny", "--fail-below", "half")
    assert bad.code == 2 and "--fail-below" in bad.stderr


def test_hidden_tests_are_refused_in_a_students_repository(
    tmp_path: Path, repo: Repo, grade_ci: Run
) -> None:
    """Even when the hidden tests are there (an instructor's mistake), a Classroom job refuses
    them, says why in the summary and in Classroom, and exits 2."""
    repo.add_course(hidden=True)
    first = repo.commit("Initial commit")
    repo.commit("my homework", **{"tiny.ipynb": notebook(*FULL)})
    job = github_job(
        tmp_path,
        repo,
        actor=STUDENT,
        before=first,
        repository=REPOSITORY,
        job="run-autograding-tests",
    )
    ran = grade_ci(job, "--assignment", "tiny", "--hidden", "--trusted-repo", REPOSITORY)
    assert ran.code == 2
    summary = job.summary.read_text(encoding="utf-8")  # type: ignore[union-attr]
    assert "Hidden tests refused: nothing was graded" in summary
    assert "student's own repository" in summary
    payload = decode(job.outputs()["result"])
    assert payload["status"] == "error" and "student's own repository" in json.dumps(payload)
    assert not (job.out / "tiny-ivan-petrov").exists()  # nothing graded
    assert any(ln.startswith("::error ") and "refused" in ln for ln in commands(ran.stdout))


def test_committed_hidden_tests_are_reported(tmp_path: Path, repo: Repo, grade_ci: Run) -> None:
    repo.add_course(hidden=True)
    first = repo.commit("Initial commit")
    repo.commit("my homework", **{"tiny.ipynb": notebook(*FULL)})
    job = github_job(tmp_path, repo, actor=STUDENT, before=first, repository=REPOSITORY)
    ran = grade_ci(job, "--assignment", "tiny")
    assert ran.code == 0
    summary = job.summary.read_text(encoding="utf-8")  # type: ignore[union-attr]
    assert "hidden tests or data are committed to this repository" in summary
    assert "assignments/tiny/tests/hidden/test\\_counter.py" in summary
    assert "**Not your grade yet**: 1 hidden check(s) worth 1 points" in summary
    assert any(ln.startswith("::warning ") and "committed" in ln for ln in commands(ran.stdout))


def test_outside_ci_is_a_usage_error(tmp_path: Path, repo: Repo, grade_ci: Run) -> None:
    classroom_repo(repo)
    job = github_job(tmp_path, repo, actor=STUDENT)
    job.env["GITHUB_ACTIONS"] = ""
    ran = grade_ci(job, "--assignment", "tiny")
    assert ran.code == 2 and "not in a CI job" in ran.stderr


def test_broken_assignment_tells_classroom_why(tmp_path: Path, repo: Repo, grade_ci: Run) -> None:
    """Grading cannot run (the instructor's test file does not import): exit 2, and Classroom
    still gets an ``error`` result that says so instead of an empty output."""
    first = classroom_repo(repo)
    broken = "assignments/tiny/tests/public/test_square.py"
    repo.commit("x", **{"tiny.ipynb": notebook(*FULL), broken: "def test_(:\n"})
    job = github_job(tmp_path, repo, actor=STUDENT, before=first, repository=REPOSITORY)
    ran = grade_ci(job, *template_args(job.out))
    assert ran.code == 2
    assert "could not run" in ran.stderr
    payload = decode(job.outputs()["result"])
    assert payload["status"] == "error" and "could not run" in json.dumps(payload)
