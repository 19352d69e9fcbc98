"""The small parts of ``grade ci``: reading the services' variables, the roster, the
submissions pattern, and where a notebook's cells start."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest
from ci_jobs import PUSHED_AT, Repo, github_job, gitlab_job, notebook

from grader.ci.cells import cell_lines
from grader.ci.environment import Event, Provider, detect
from grader.ci.plan import Pattern
from grader.ci.roster import parse_roster
from grader.errors import GraderError


def test_nothing_is_detected_outside_ci() -> None:
    assert detect({"CI": "true", "PATH": "/usr/bin"}) is None


def test_github_push(tmp_path: Path, repo: Repo) -> None:
    first = repo.commit("one")
    job = github_job(tmp_path, repo, actor="Ivan", before=first, forced=True)
    ci = detect(job.env)
    assert ci is not None
    assert (ci.provider, ci.event, ci.repository) == (
        Provider.GITHUB,
        Event.PUSH,
        "dl-course/class-2026",
    )
    assert (ci.before, ci.head, ci.forced, ci.created) == (first, repo.head(), True, False)
    assert (ci.actor, ci.default_branch, ci.workspace) == ("Ivan", "main", repo.path)
    assert ci.pushed_at == datetime.fromtimestamp(PUSHED_AT, tz=UTC)
    assert ci.summary_file == job.summary and ci.output_file == job.output


def test_github_new_branch_and_broken_payload(tmp_path: Path, repo: Repo) -> None:
    repo.commit("one")
    job = github_job(tmp_path, repo, actor="a")
    ci = detect(job.env)
    assert ci is not None and ci.before == "" and ci.created  # forty zeros: no previous commit
    Path(job.env["GITHUB_EVENT_PATH"]).write_text("{not json", encoding="utf-8")
    broken = detect(job.env)
    assert broken is not None and broken.before == "" and broken.head == repo.head()
    assert "cannot read the event payload" in broken.notes[0]


def test_github_pull_request(tmp_path: Path, repo: Repo) -> None:
    base = repo.commit("one")
    payload = {"pull_request": {"base": {"sha": base}, "head": {"sha": repo.head()}}}
    job = github_job(tmp_path, repo, actor="a", event="pull_request_target", payload=payload)
    ci = detect(job.env)
    assert ci is not None and (ci.event, ci.request_base) == (Event.PULL_REQUEST, base)


@pytest.mark.parametrize(
    ("source", "event"),
    [("push", Event.PUSH), ("merge_request_event", Event.PULL_REQUEST),
     ("schedule", Event.SCHEDULE), ("web", Event.MANUAL), ("pipeline", Event.OTHER)],
)  # fmt: skip
def test_gitlab_sources(tmp_path: Path, repo: Repo, source: str, event: Event) -> None:
    repo.commit("one")
    ci = detect(gitlab_job(tmp_path, repo, actor="maria", source=source).env)
    assert ci is not None and (ci.provider, ci.event, ci.actor) == (Provider.GITLAB, event, "maria")
    assert ci.before == ""  # CI_COMMIT_BEFORE_SHA is forty zeros
    assert (ci.pushed_at is not None) == (source == "push")


def test_roster() -> None:
    roster = parse_roster(
        "\ufefflogin,folder,role\nIvan,ivanov,\nivan-gl,ivanov,student\nProf,,staff\n", source="r"
    )
    assert roster.folders_of("IVAN") == {"ivanov"} and roster.folders_of("ivan-gl") == {"ivanov"}
    assert roster.is_staff("prof") and not roster.is_student("prof")
    with pytest.raises(GraderError, match="line 2"):
        parse_roster("login,folder,role\nivan,,\n", source="r")
    with pytest.raises(GraderError, match="no column folder"):
        parse_roster("login,dir\nivan,x\n", source="r")
    with pytest.raises(GraderError, match="line 2"):
        parse_roster("login,folder,role\nivan,x,admin\n", source="r")


def test_pattern() -> None:
    p = Pattern.parse("submissions/{student}")
    assert p.submission("submissions/ivanov/tiny.ipynb") == "ivanov"
    assert p.submission("submissions/README.md") is None  # a file, not a student's folder
    assert p.owner("README.md") is None
    hw = Pattern.parse("{student}/hw1")
    assert hw.submission("ivanov/hw1/tiny.ipynb") == "ivanov"
    assert hw.submission("ivanov/hw2/tiny.ipynb") is None and hw.owner("ivanov/hw2/x") == "ivanov"
    assert hw.path_for("ivanov") == "ivanov/hw1"
    for bad in ("submissions", "{student}/{student}", "../{student}", "a/{student}x"):
        with pytest.raises(GraderError):
            Pattern.parse(bad)


def test_cell_lines_point_at_each_cell(tmp_path: Path) -> None:
    tricky = 'print("cells": [{"a": 1}])  # "cells" and braces in a string\n{'
    path = tmp_path / "nb.ipynb"
    path.write_text(notebook("x = 1", tricky, "md:{ [", "y = 2"), encoding="utf-8")
    lines = cell_lines(path)
    text = path.read_text(encoding="utf-8").splitlines()
    cells = nbformat.read(path, as_version=4).cells
    assert len(lines) == len(cells) == 4
    for line, cell in zip(lines, cells, strict=True):
        assert text[line - 1].strip() == "{"
        assert json.dumps(cell.source)[:20].strip('"') in "\n".join(text[line : line + 12])
    minified = tmp_path / "min.ipynb"
    minified.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8"))), encoding="utf-8")
    assert cell_lines(minified) == (1, 1, 1, 1)  # one line: every cell is on line 1
    assert cell_lines(tmp_path / "missing.ipynb") == ()
