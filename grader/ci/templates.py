"""``grade ci init``: the workflow files of a layout, pinned to this grader's version.

The files are templates in ``grader/ci/templates/`` with ``@NAME@`` placeholders; every value
put in is checked against a narrow alphabet first, so none can break the YAML or the shell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from grader.ci.plan import Layout, Pattern
from grader.core.errors import GraderError
from grader.core.version import version

PACKAGE = "dl-grader"
_SAFE = {
    "ASSIGNMENT": re.compile(r"[a-z][a-z0-9_]*"),
    "REQUIREMENT": re.compile(r"[A-Za-z0-9_.\-\[\],=<>!~+:/@#%]+( @ [A-Za-z0-9_.\-+:/@#%=]+)?"),
    "SUBMISSIONS": re.compile(r"[\w.\-/{}]+"),
    "ROSTER": re.compile(r"[\w.\-/]+"),
    "SUBMISSION": re.compile(r"[\w.\-/]*"),
}
_DEST = {
    (Layout.CLASSROOM, False): ".github/workflows/classroom.yml",
    (Layout.CLASS_REPO, False): ".github/workflows/grade-ci.yml",
    (Layout.CLASSROOM, True): ".gitlab-ci.yml",
    (Layout.CLASS_REPO, True): ".gitlab-ci.yml",
}


@dataclass(frozen=True)
class Workflow:
    path: str
    """Where it goes, relative to the repository."""
    text: str


def render(
    *,
    layout: Layout,
    gitlab: bool,
    assignment: str,
    requirement: str = "",
    submissions: str = "submissions/{student}",
    roster: str = "roster.csv",
    submission: str = "",
) -> Workflow:
    """``requirement``: what the workflow installs; default this grader's version, pinned."""
    requirement = requirement or f"{PACKAGE}=={version()}"
    values = {
        "ASSIGNMENT": assignment,
        "REQUIREMENT": requirement,
        "SUBMISSIONS": submissions,
        "ROSTER": roster,
        "SUBMISSION": submission,
    }
    for name, value in values.items():
        if not _SAFE[name].fullmatch(value):
            raise GraderError(
                f"--{name.lower()} {value!r} has characters a workflow file cannot hold safely",
                hint="use letters, digits and . _ - / (and {student} in --submissions)",
            )
    Pattern.parse(submissions)  # one {student} level, or a clear error
    name = f"{'gitlab' if gitlab else 'github'}-{layout.value}.yml"
    text = files("grader.ci").joinpath("templates", name).read_text(encoding="utf-8")
    fills = {
        **values,
        "VERSION": version(),
        "COURSE_REQUIREMENT": course_requirement(requirement),
        "SUBMISSION_ARG": f"--submissions {submission} " if submission else "",
    }
    for key, value in fills.items():
        text = text.replace(f"@{key}@", value)
    return Workflow(_DEST[(layout, gitlab)], text)


def course_requirement(requirement: str) -> str:
    """The same pin with the extras the local backend's kernel needs: ``course`` (scikit-learn,
    pandas, matplotlib) and ``torch``."""
    if " @ " in requirement or "://" in requirement:
        url = requirement.split(" @ ", 1)[-1]
        return f"{PACKAGE}[course,torch] @ {url}"
    match = re.fullmatch(re.escape(PACKAGE) + r"(\[[^\]]*\])?(.*)", requirement)
    return f"{PACKAGE}[course,torch]{match.group(2)}" if match else requirement


def write(workflow: Workflow, *, root: Path, force: bool) -> Path:
    path = root / workflow.path
    if path.exists() and not force:
        raise GraderError(f"{path} exists", hint="pass --force to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(workflow.text, encoding="utf-8")
    return path
