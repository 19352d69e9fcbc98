"""`grade assign`: the template and the reference derived from a master notebook, questions
written from the spec, components' points from the tests' markers."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.grading import Options, grade_submission
from grader.master import MasterError, derive, read_master, split_code
from grader.sandbox.local import LocalSandbox
from grader.spec import Assignment, load_assignment

MASTERED = Path(__file__).resolve().parent / "fixtures" / "assignments" / "mastered"


@pytest.fixture
def course(tmp_path: Path) -> Path:
    shutil.copytree(MASTERED, tmp_path / "assignments" / "mastered")
    return tmp_path


def spec_of(course: Path) -> Assignment:
    return load_assignment(course / "assignments" / "mastered")


def sources(nb: nbformat.NotebookNode) -> list[str]:
    return [c.source for c in nb.cells]


def test_template_gets_prompts_or_stubs_and_reference_the_solution(course: Path) -> None:
    spec = spec_of(course)
    derived = derive(spec, read_master(spec))
    template, reference = sources(derived.template), sources(derived.reference)
    assert template[2] == "def square(x):\n    return ...  # x squared, also for arrays"
    assert reference[2] == "def square(x):\n    return x * x"
    assert "        # YOUR CODE HERE\n        raise NotImplementedError()" in template[3]
    assert "self.total += n" in reference[3] and "self.total" not in template[3]
    for text in template + reference:
        assert "### " not in text and "INSTRUCTOR" not in text
    assert len(template) == len(reference) == 5  # the instructor's cell is in neither
    prompt = spec.questions[0].prompt
    assert template[4] == f"**Вопрос q1.** {prompt}\n\n**Ответ q1:** ваш ответ здесь"
    assert reference[4].startswith(f"**Вопрос q1.** {prompt}\n\n**Ответ q1:** Квадрат растёт")
    assert derived.template.metadata["dl_grader"] == {"assignment": "mastered"}


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("### BEGIN SOLUTION\nx = 1", "never ended"),
        ("x = 1\n### END SOLUTION", "without BEGIN SOLUTION"),
        ("### BEGIN SOLUTION\n### BEGIN PROMPT\n", "inside SOLUTION"),
    ],
)
def test_broken_markers_name_the_cell(source: str, why: str) -> None:
    with pytest.raises(MasterError, match=why) as info:
        split_code(source, cell=4)
    assert info.value.cell == 4


def test_a_question_the_spec_does_not_know_is_refused(course: Path) -> None:
    spec = spec_of(course)
    master = read_master(spec)
    master.cells[5].source = "### QUESTION q9\nanswer"
    with pytest.raises(MasterError, match=r"'q9' is not in assignment\.toml"):
        derive(spec, master)


def test_assign_writes_files_and_points_then_check_is_clean(course: Path) -> None:
    runner = CliRunner()
    folder = course / "assignments" / "mastered"
    stale = runner.invoke(app, ["assign", str(folder), "--check"])
    assert stale.exit_code == 1 and "stale" in stale.output
    assert not (folder / "template.ipynb").exists()
    done = runner.invoke(app, ["assign", str(folder)])
    assert done.exit_code == 0, done.output
    text = (folder / "assignment.toml").read_text(encoding="utf-8")
    points = {c["id"]: c["points"] for c in tomllib.loads(text)["components"]}
    assert points == {"funcs": 3, "answers": 1}  # 2 public + 1 hidden test point; q1
    assert "# the square and the counter" in text, "comments are kept"
    assert (course / "reference_solutions" / "mastered.ipynb").is_file()
    again = runner.invoke(app, ["assign", str(folder), "--check"])
    assert again.exit_code == 0 and "stale" not in again.output


@pytest.mark.slow
def test_derived_notebooks_grade_as_template_and_reference(course: Path) -> None:
    CliRunner().invoke(app, ["assign", str(course / "assignments" / "mastered")])
    spec = spec_of(course)
    options = Options(sandbox=LocalSandbox())
    template = grade_submission(spec, spec.path("template.ipynb"), options=options)
    reference = grade_submission(
        spec, course / "reference_solutions" / "mastered.ipynb", options=options
    )
    assert (template.points, reference.points, reference.max_points) == (0.0, 4.0, 4.0)
