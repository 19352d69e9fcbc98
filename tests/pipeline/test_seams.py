"""The seams of the grading core, used by the ``seams`` fixture assignment: a metric declared
in the spec (its points and thresholds) and an evaluator that lives as long as its owner (a
``grade check`` run, a validation, a batch worker), not one submission."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.batch.runner import BatchOptions, run_batch
from grader.core.errors import GraderError, SpecError
from grader.core.results import GradeResult, Status
from grader.core.spec import Assignment, load_assignment
from grader.course.validate import points_layout
from grader.pipeline.evaluators import Evaluators
from grader.pipeline.grading import Options, grade_submission
from grader.sandbox.choose import Backend
from grader.sandbox.local import LocalSandbox

SEAMS = Path(__file__).resolve().parents[1] / "fixtures" / "assignments" / "seams"
RIGHT = "def predict(X):\n    return (X[:, 0] > 0).astype(int)"
"""What the evaluator's labels are: accuracy 1."""
HALF_RIGHT = (
    "import numpy as np\n"
    "def predict(X):\n"
    "    return np.where(X[:, 1] > 0, X[:, 0] > 0, 0).astype(int)"
)
"""Right where the second feature is positive, 0 elsewhere: accuracy about 0.75."""
WRONG = "def predict(X):\n    return (X[:, 0] <= 0).astype(int)"
"""Every label flipped: accuracy 0, below the threshold worth no points."""

Make = Callable[..., Path]


@pytest.fixture
def seams(tmp_path: Path) -> Assignment:
    root = tmp_path / "assignments" / "seams"
    shutil.copytree(SEAMS, root)
    return load_assignment(root)


def builds(spec: Assignment) -> list[str]:
    log = spec.root / "builds.log"
    return log.read_text().split() if log.exists() else []


def grade(spec: Assignment, path: Path, evaluators: Evaluators | None = None) -> GradeResult:
    options = Options(sandbox=LocalSandbox(), hidden=True, evaluators=evaluators)
    return grade_submission(spec, path, options=options)


def test_metric_points_come_from_the_spec_thresholds(seams: Assignment, make_nb: Make) -> None:
    evaluators = Evaluators(seams)
    got = {}
    for name, code in {"right": RIGHT, "half": HALF_RIGHT, "wrong": WRONG}.items():
        result = grade(seams, make_nb(code, name=f"{name}.ipynb"), evaluators)
        assert result.status is Status.GRADED, result.message
        (metric,) = result.metrics
        got[name] = (round(metric.value or 0, 2), metric.points, result.points)
    assert got["right"] == (1.0, 3.0, 4.0)
    value, points, total = got["half"]
    assert 0.6 < value < 0.9 and points == pytest.approx(3 * (value - 0.5) / 0.5, abs=0.1)
    assert total == pytest.approx(points + 1)
    assert got["wrong"] == (0.0, 0.0, 1.0)  # the shape test still passes


def test_a_metric_test_that_fails_earns_nothing(seams: Assignment, make_nb: Make) -> None:
    result = grade(seams, make_nb("def predict(X):\n    raise ValueError('no')"))
    (metric,) = result.metrics
    assert (metric.value, metric.points) == (None, 0.0)
    test = next(t for t in result.tests if t.id.endswith("test_accuracy"))
    assert test.points == 0.0 and "ValueError" in test.message


def test_the_evaluator_is_built_once_by_its_owner(seams: Assignment, make_nb: Make) -> None:
    owned = Evaluators(seams)
    for i in range(3):
        grade(seams, make_nb(RIGHT, name=f"s{i}.ipynb"), owned)
    assert len(builds(seams)) == 1
    grade(seams, make_nb(RIGHT, name="alone.ipynb"))  # no owner: built for this submission
    assert len(builds(seams)) == 2


def test_a_batch_worker_builds_the_evaluator_once(seams: Assignment, tmp_path: Path) -> None:
    class_dir = tmp_path / "class"
    class_dir.mkdir()
    for student in ("ivanov", "petrov", "sidorov"):
        (class_dir / f"{student}.ipynb").write_bytes(_notebook(tmp_path, RIGHT))
    options = BatchOptions(backend=Backend.LOCAL, jobs=1)
    summary = run_batch(seams, class_dir, out=tmp_path / "out", options=options)
    assert summary.graded == 3, summary
    assert len(builds(seams)) == 1  # one worker, three submissions, one build


def _notebook(tmp_path: Path, code: str) -> bytes:
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    return nbformat.writes(nb).encode()


def test_a_broken_evaluator_is_the_grader_s_fault(seams: Assignment, make_nb: Make) -> None:
    (seams.root / "grader_side.py").write_text("def build():\n    raise OSError('no data')\n")
    sys.modules.pop("_grader_evaluators_seams_grader_side", None)
    with pytest.raises(GraderError) as info:
        grade(seams, make_nb(RIGHT))
    assert "reference" in info.value.message and "no data" in info.value.message


@pytest.mark.parametrize(
    ("source", "field", "says"),
    [
        ("x = 1\n", "evaluators.0.function", "no function 'build'"),
        ("def build(a, b):\n    return 1\n", "evaluators.0.function", "takes 2 arguments"),
        ("raise ImportError('broken')\n", "evaluators.0", "cannot be imported"),
    ],
)
def test_evaluators_are_checked_when_registered(
    seams: Assignment, source: str, field: str, says: str
) -> None:
    (seams.root / "grader_side.py").write_text(source)
    sys.modules.pop("_grader_evaluators_seams_grader_side", None)
    with pytest.raises(SpecError) as info:
        Evaluators(seams)
    assert info.value.field == field and says in info.value.message


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('component = "quality"', 'component = "nowhere"', "metrics.0.component"),
        ("zero = 0.5", "zero = 1.0", "metrics"),
        ('name = "reference"', 'name = "nb"', "evaluators.0.name"),
        ('file = "grader_side.py"', 'file = "missing.py"', "evaluators.0.file"),
    ],
)
def test_spec_mistakes_in_seams_name_the_field(
    seams: Assignment, old: str, new: str, field: str
) -> None:
    spec_file = seams.root / "assignment.toml"
    spec_file.write_text(spec_file.read_text().replace(old, new))
    with pytest.raises(SpecError) as info:
        Evaluators(load_assignment(seams.root))
    assert info.value.field == field


def test_validation_sees_metric_tests_and_unmeasured_metrics(seams: Assignment) -> None:
    assert points_layout(seams).ok, points_layout(seams).detail
    test = seams.root / "tests/public/test_predict.py"
    test.write_text(test.read_text().replace('metric("accuracy")', 'metric("acuracy")'))
    check = points_layout(seams)
    assert not check.ok
    assert "unknown metric 'acuracy'" in check.detail
    assert "metric 'accuracy' is measured by no test" in check.detail
