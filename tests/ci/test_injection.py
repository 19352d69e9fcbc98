"""Student text is data: a folder name, a notebook's error message or an answer never becomes a
workflow command, Markdown, HTML, a link or a step output; the summary and annotations keep to
GitHub's limits."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from ci_jobs import TINY, Repo, Run, commands, github_job, notebook

from grader.ci.annotations import (
    Annotation,
    Level,
    annotations_for,
    escape_data,
    escape_property,
    github_command,
)
from grader.ci.environment import CIEnv, Event, Provider
from grader.ci.outcome import CIRun, Graded
from grader.ci.plan import Layout, Plan, Target
from grader.ci.publish import publish
from grader.ci.summary import LIMIT, md, summary_markdown
from grader.ci.text import log_safe, one_line
from grader.results import CellError, GradeResult, Outcome, Status, TestResult
from grader.spec import load_assignment

EVIL = (
    "x\n::add-mask::hunter2\n::set-output name=result::hacked\n  ::stop-commands::tok\n"
    "##[error]fake\r::error::forged\x1b[2K\x1b[31mred\x1b[0m <script>alert(1)</script> "
    "<img src=x onerror=alert(1)> [click](https://evil.example) www.evil.example @prof-k "
    "$\\LaTeX$ | a | b | `code` ***bold***\n# Heading\n```"
)
OUR_COMMAND = re.compile(
    r"::(error|warning|notice) (file=[^:,\n]*,(line=\d+,)?)?title=[^:,\n]*::[^\n]*"
)


# ---------------------------------------------------------------- units
def test_log_safe_quotes_every_line_that_would_be_a_command() -> None:
    safe = log_safe(EVIL)
    for line in safe.splitlines():
        assert not line.lstrip().startswith(("::", "##[")), line
    assert "\x1b" not in safe and "\r" not in safe
    assert "» ::add-mask::hunter2" in safe  # still readable, just inert
    assert "\n" not in one_line(EVIL) and len(one_line(EVIL, 50)) == 50


def test_workflow_command_values_are_escaped_as_the_runner_unescapes() -> None:
    assert escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert escape_property("a:b,c\n") == "a%3Ab%2Cc%0A"
    line = github_command(Annotation(Level.ERROR, EVIL, EVIL, file="sub/" + EVIL, line=3))
    assert "\n" not in line and OUR_COMMAND.fullmatch(line), line
    command, _, props = line.split("::")[1].partition(" ")  # as the runner splits it
    keys = [p.split("=", 1)[0] for p in props.split(",")]
    assert (command, keys) == ("error", ["file", "line", "title"])


def unescaped(markdown: str) -> list[str]:
    """Markup characters, links and mentions that Markdown would act on."""
    marks = re.findall(r"(?<!\\)[<>\[\]|`*_$@~&]", markdown)
    return marks + re.findall(r"(?<!\\)://|www\.", markdown)


def test_markdown_of_repository_text_is_inert() -> None:
    text = md(EVIL, 2000)
    assert unescaped(text) == [] and "\n" not in text
    assert "\\<img" in text and "https\\://evil" in text and "\\@prof" in text and "\\$" in text


def fake_result(student: int, message: str = EVIL) -> GradeResult:
    return GradeResult(
        assignment="tiny",
        assignment_version="1",
        submission=f"s{student}",
        status=Status.GRADED,
        message=message,
        points=1,
        max_points=3,
        tests=[
            TestResult(
                id="test_square.py::test_square_array",
                component="funcs",
                hidden=False,
                outcome=Outcome.FAILED,
                points=0,
                max_points=1,
                message=message,
            )
        ],
        cell_errors=[CellError(index=1, ename="ValueError", evalue=message, source_head=message)],
    )


def fake_run(n: int, message: str = EVIL) -> CIRun:
    ci = CIEnv(Provider.GITHUB, Event.PUSH, "push", "c/r", Path("."), "f" * 40, actor="eve")
    graded = tuple(
        Graded(
            Target(f"student{i}-{message[:40]}", f"submissions/s{i}"),
            fake_result(i, message),
            f"s{i}",
        )
        for i in range(n)
    )
    plan = Plan(tuple(g.target for g in graded))
    return CIRun(ci, load_assignment(TINY), Layout.CLASS_REPO, False, plan, graded)


def test_annotations_are_capped_per_level() -> None:
    found = annotations_for(fake_run(30), per_level=10)
    for level in Level:
        mine = [a for a in found if a.level is level]
        assert len(mine) == 10, level
        assert mine[-1].title.endswith("more")


def test_summary_fits_githubs_limit_and_says_what_it_left_out(tmp_path: Path) -> None:
    run = fake_run(1000, "long message " * 100)
    whole = summary_markdown(run)
    assert len(whole.encode()) > LIMIT
    cut = summary_markdown(run, limit=LIMIT)
    assert len(cut.encode()) <= LIMIT
    assert "Not shown here (GitHub's 1 MiB summary limit)" in cut
    step = tmp_path / "step_summary"
    step.write_text("x" * (LIMIT - 10_000), encoding="utf-8")  # earlier output of this step
    ci = CIEnv(Provider.GITHUB, Event.PUSH, "push", "c/r", tmp_path, "f" * 40, summary_file=step)
    published = CIRun(ci, run.spec, run.layout, False, run.plan, run.graded)
    publish(published, out=tmp_path / "out", per_level=10, max_score=None)
    assert LIMIT - 10_000 < step.stat().st_size <= LIMIT
    whole = summary_markdown(published)
    assert (tmp_path / "out" / "step-summary.md").read_text(encoding="utf-8") == whole


# ---------------------------------------------------------------- end to end
@pytest.fixture
def hostile_class(repo: Repo) -> str:
    """A class repository where the student 'eve' owns a folder with a hostile name and
    submits a notebook whose errors carry workflow commands, HTML and Markdown."""
    folder = "eve\n::stop-commands::pwn\n<img src=x onerror=alert(1)>|:,"
    roster = io.StringIO()
    csv.writer(roster).writerows([["login", "folder", "role"], ["eve", folder, ""]])
    repo.add_course(hidden=False)
    before = repo.commit("class", **{"roster.csv": roster.getvalue()})
    repo.commit(
        "homework",
        **{
            f"submissions/{folder}/tiny.ipynb": notebook(
                f"def square(x):\n    raise ValueError({EVIL!r})",
                f"raise RuntimeError({EVIL!r})",
                f"md:**Ответ q1:** {EVIL}",
            )
        },
    )
    return before


def test_hostile_text_reaches_no_output_as_markup_or_command(
    tmp_path: Path, repo: Repo, hostile_class: str, grade_ci: Run
) -> None:
    job = github_job(tmp_path, repo, actor="eve", before=hostile_class)
    args = ("--assignment", "tiny", "--layout", "class-repo", "--roster", "roster.csv")
    ran = grade_ci(job, *args)
    assert ran.code == 0, ran.stdout + ran.stderr
    for line in commands(ran.stdout):
        assert OUR_COMMAND.fullmatch(line.strip()), line  # only our annotations, well formed
    assert "hunter2" in ran.stdout  # the text is shown, as text
    assert set(job.outputs()) == {"graded", "violations", "points", "max-points", "status"}

    summary = job.summary.read_text(encoding="utf-8")  # type: ignore[union-attr]
    for line in summary.splitlines():
        assert not line.startswith(("::", "#### ", "# ", "```", "<")), line
        if "eve" in line or "hunter2" in line:  # every line that carries the student's text
            ours = re.sub(r"^(- |### )|`[a-z_0-9]+`|\*\*[A-Za-z ]+\*\*|(^|\s)\|(?=\s|$)", " ", line)
            assert unescaped(ours) == [], line
    assert "\\<script\\>" in summary and "https\\://evil" in summary

    record = json.loads((job.out / "ci.json").read_text(encoding="utf-8"))
    student = record["students"][0]
    assert student["student"].startswith("eve\n::stop-commands::pwn")  # data, kept verbatim
    assert re.fullmatch(r"[\w.\-]+", student["folder"])  # a safe folder in the artifact
    ET.parse(job.out / "junit.xml")  # well-formed
    feedback = (job.out / student["folder"] / "feedback.html").read_text(encoding="utf-8")
    assert "<script>" not in feedback
