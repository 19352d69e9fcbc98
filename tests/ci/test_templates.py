"""``grade ci init`` writes workflows that parse as YAML and match the services' schemas.

The schemas are the ones the ``check-jsonschema`` package ships (SchemaStore's GitHub workflow
schema, GitLab's ``.gitlab-ci.yml`` schema): no network at test time. YAML is read with
ruamel.yaml (YAML 1.2, as GitHub reads ``on:``), which check-jsonschema depends on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from grader import __version__, cli
from grader.ci.plan import Layout
from grader.ci.templates import course_requirement, render
from grader.core.errors import GraderError

COMBOS = [(layout, gitlab) for layout in Layout for gitlab in (False, True)]
IDS = [f"{'gitlab' if g else 'github'}-{layout.value}" for layout, g in COMBOS]


def schema(name: str) -> dict[str, Any]:
    text = files("check_jsonschema").joinpath(f"builtin_schemas/vendor/{name}.json").read_text()
    data = json.loads(text)
    assert isinstance(data, dict)
    return data


def load(text: str) -> dict[str, Any]:
    data = YAML(typ="safe", pure=True).load(text)
    assert isinstance(data, dict)
    return json.loads(json.dumps(data))  # plain JSON types, as the schema sees them


def validate(data: dict[str, Any], gitlab: bool) -> None:
    spec = schema("gitlab-ci" if gitlab else "github-workflows")
    jsonschema.Draft7Validator(spec).validate(data)


@pytest.mark.parametrize(("layout", "gitlab"), COMBOS, ids=IDS)
def test_workflow_is_valid_for_its_service(layout: Layout, gitlab: bool) -> None:
    workflow = render(layout=layout, gitlab=gitlab, assignment="gd_backprop")
    data = load(workflow.text)
    validate(data, gitlab)
    assert f"dl-grader=={__version__}" in workflow.text or (
        gitlab and f"dl-grader[course,torch]=={__version__}" in workflow.text
    )
    assert "@" + "ASSIGNMENT" not in workflow.text and "@VERSION@" not in workflow.text
    assert "--hidden" not in workflow.text  # student-facing layouts run public checks only


def test_schema_check_can_fail() -> None:
    data = load(render(layout=Layout.CLASSROOM, gitlab=False, assignment="tiny").text)
    data["jobs"]["run-autograding-tests"]["timeout-minute"] = 5  # a misspelt key
    with pytest.raises(jsonschema.ValidationError):
        validate(data, gitlab=False)
    lab = load(render(layout=Layout.CLASS_REPO, gitlab=True, assignment="tiny").text)
    lab["grade-ci"]["artifacts"]["when"] = "sometimes"
    with pytest.raises(jsonschema.ValidationError):
        validate(lab, gitlab=True)


def test_classroom_workflow_feeds_the_reporter() -> None:
    data = load(render(layout=Layout.CLASSROOM, gitlab=False, assignment="tiny").text)
    assert data["name"] == "Autograding Tests"
    assert set(data["on"]) >= {"push", "repository_dispatch"}
    job = data["jobs"]["run-autograding-tests"]  # the job name Classroom's workflows use
    grade = next(s for s in job["steps"] if s.get("id") == "grade")
    assert grade["run"].strip().startswith("grade ci --layout classroom --assignment tiny")
    reporter = next(s for s in job["steps"] if "autograding-grading-reporter" in s.get("uses", ""))
    assert reporter["with"]["runners"] == "grade"
    assert reporter["env"]["GRADE_RESULTS"] == "${{ steps.grade.outputs.result }}"
    assert reporter["if"] == "always()"
    cache = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["key"].endswith(__version__)  # the image cache follows the version


def test_class_repo_workflows_serialise_pushes() -> None:
    github = load(render(layout=Layout.CLASS_REPO, gitlab=False, assignment="tiny").text)
    assert github["concurrency"]["group"] == "grade-ci-${{ github.ref }}-${{ github.actor }}"
    assert github["concurrency"]["cancel-in-progress"] is False
    checkout = github["jobs"]["grade"]["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0  # history, to compare with the previous commit
    gitlab = load(render(layout=Layout.CLASS_REPO, gitlab=True, assignment="tiny").text)
    job = gitlab["grade-ci"]
    assert job["resource_group"] == "grade-ci-$CI_COMMIT_REF_SLUG-$GITLAB_USER_LOGIN"
    assert job["variables"]["GIT_DEPTH"] == "0"
    assert job["artifacts"]["reports"]["junit"] == "grade-ci/junit.xml"
    assert "--roster 'roster.csv'" in job["script"][-1]


def test_check_jsonschema_accepts_the_files(tmp_path: Path) -> None:
    """The same check with the tool's own command line (its YAML loader and regex engine)."""
    tool = [sys.executable, "-m", "check_jsonschema", "--builtin-schema"]
    for gitlab, name in ((False, "github-workflows"), (True, "gitlab-ci")):
        paths = []
        for layout in Layout:
            path = tmp_path / f"{name}-{layout.value}.yml"
            path.write_text(render(layout=layout, gitlab=gitlab, assignment="tiny").text)
            paths.append(str(path))
        done = subprocess.run(
            [*tool, f"vendor.{name}", *paths],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "values",
    [
        {"assignment": "tiny\nrun: curl evil"},
        {"assignment": "tiny", "requirement": 'dl-grader" && curl evil "'},
        {"assignment": "tiny", "submissions": "sub/{student}'; rm -rf /"},
        {"assignment": "tiny", "submissions": "sub/no-placeholder"},
        {"assignment": "tiny", "roster": "roster.csv\n- evil"},
    ],
)
def test_values_that_could_break_the_file_are_refused(values: dict[str, str]) -> None:
    with pytest.raises(GraderError):
        render(layout=Layout.CLASS_REPO, gitlab=False, **values)  # type: ignore[arg-type]


def test_course_requirement_keeps_the_pin() -> None:
    assert course_requirement("dl-grader==1.2.0") == "dl-grader[course,torch]==1.2.0"
    url = "git+https://example.edu/dl-grader.git@v1.2.0"
    assert course_requirement(url) == f"dl-grader[course,torch] @ {url}"


def test_init_writes_and_does_not_overwrite(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["ci", "init", "-a", "tiny", "--layout", "classroom", "--root", str(tmp_path)]
    first = runner.invoke(cli.app, args)
    assert first.exit_code == 0, first.output
    written = tmp_path / ".github" / "workflows" / "classroom.yml"
    validate(load(written.read_text(encoding="utf-8")), gitlab=False)
    again = runner.invoke(cli.app, args)
    assert again.exit_code == 2 and "exists" in again.stderr
    assert runner.invoke(cli.app, [*args, "--force"]).exit_code == 0
    lab = runner.invoke(cli.app, [*args[:5], "class-repo", "--gitlab", "--root", str(tmp_path)])
    assert lab.exit_code == 0, lab.output
    validate(load((tmp_path / ".gitlab-ci.yml").read_text(encoding="utf-8")), gitlab=True)
