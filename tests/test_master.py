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
from grader.core.spec import Assignment, load_assignment
from grader.course.master import STUBS, MasterError, assign, derive, read_master, split_code
from grader.pipeline.grading import Options, grade_submission
from grader.sandbox.local import LocalSandbox

REPO = Path(__file__).resolve().parents[1]
MASTERED = REPO / "tests" / "fixtures" / "assignments" / "mastered"
COURSE_MASTERS = sorted(p.parent.name for p in (REPO / "assignments").glob("*/master.ipynb"))


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
    assert "self.total += self._step(n)" in reference[3] and "self.total" not in template[3]
    assert "def _step(self, n):\n        return int(n)\n\n    def add" in reference[3]
    assert "_step" not in template[3], "NO PROMPT leaves nothing in the template"
    assert "\n\n    def add(self, n):" in template[3] and "\n\n\n" not in template[3]
    for text in template + reference:
        assert "### " not in text.replace("### Вопрос", "") and "INSTRUCTOR" not in text
        assert "ONLY" not in text
    assert len(template) == len(reference) == 6  # the instructor's cell is in neither
    assert template[4].startswith("Try `square`") and derived.template.cells[4].cell_type == (
        "markdown"
    )
    assert reference[4].startswith("print(square(") and "print(square(" not in "".join(template)
    prompt = spec.questions[0].prompt
    assert template[5] == f"### Вопрос q1\n{prompt}\n\n**Ответ q1:** ваш ответ здесь"
    assert reference[5].startswith(f"### Вопрос q1\n{prompt}\n\n**Ответ q1:** Квадрат растёт")
    assert derived.template.metadata["dl_grader"] == {"assignment": "mastered"}
    assert [c.id for c in derived.reference.cells] == [f"cell-{i:02d}" for i in range(6)]


def test_the_stub_speaks_the_course_language() -> None:
    source = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"
    student, solved = split_code(source, cell=1, stub=STUBS["ru"])
    assert student == "def f():\n    # ваш код здесь\n    raise NotImplementedError"
    assert solved == "def f():\n    return 1"


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("### BEGIN SOLUTION\nx = 1", "never ended"),
        ("x = 1\n### END SOLUTION", "without BEGIN SOLUTION"),
        ("### BEGIN SOLUTION\n### BEGIN PROMPT\n", "inside SOLUTION"),
        ("### BEGIN PROMPT NO PROMPT\n### END PROMPT", "belongs to ### BEGIN SOLUTION"),
    ],
)
def test_broken_markers_name_the_cell(source: str, why: str) -> None:
    with pytest.raises(MasterError, match=why) as info:
        split_code(source, cell=4)
    assert info.value.cell == 4


def test_a_question_the_spec_does_not_know_is_refused(course: Path) -> None:
    spec = spec_of(course)
    master = read_master(spec)
    master.cells[-1].source = "### QUESTION q9\nanswer"
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


@pytest.mark.parametrize("assignment", COURSE_MASTERS)
def test_the_course_notebooks_are_what_their_masters_make(assignment: str) -> None:
    """The committed template, reference and points of every assignment written as a master
    notebook are byte for byte what `grade assign` derives (`grade assign ID --check` is clean),
    and its untouched_template sample is the template."""
    spec = load_assignment(REPO / "assignments" / assignment)
    reference = REPO / "reference_solutions" / f"{assignment}.ipynb"
    stale = [w.path for w in assign(spec, reference=reference, write=False) if w.changed]
    assert not stale, f"run `grade assign {assignment}`: {stale}"
    sample = REPO / "student_submissions" / assignment / "untouched_template" / "submission.ipynb"
    assert sample.read_bytes() == spec.path("template.ipynb").read_bytes()


def test_the_course_has_master_notebooks() -> None:
    assert {"gd_backprop", "cnn_tuning"} <= set(COURSE_MASTERS)
