"""Grading whole submissions: every fixture notebook gets the status its folder names and the
points its metadata declares; then the details of particular outcomes."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.core.errors import GraderError
from grader.core.results import GradeResult, Outcome, Status
from grader.core.spec import Assignment, load_assignment
from grader.pipeline.grading import Options, grade_submission
from grader.sandbox.fake import FakeSandbox

Graded = Callable[[str], GradeResult]
HINT = "Counter.add must return the running total"


def rel(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def test_outcome(
    outcome_nb: Path, graded: Graded, expected: Callable[[Path], dict[str, object]]
) -> None:
    result = graded(rel(outcome_nb))
    assert result.status == Status(outcome_nb.parent.name), result.message
    assert result.points == expected(outcome_nb).get("points", 0.0), result.tests
    assert result.message
    assert result.assignment == "tiny" and result.submission == str(outcome_nb)
    if result.status != Status.INVALID_NOTEBOOK:
        assert result.notebook_sha256 == hashlib.sha256(outcome_nb.read_bytes()).hexdigest()


def test_full_marks(graded: Graded) -> None:
    result = graded("graded/full_marks")
    assert [(c.id, c.points, c.max_points) for c in result.components] == [
        ("funcs", 3.0, 3.0),
        ("answers", 1.0, 1.0),
    ]
    assert {t.id.split("::")[-1]: t.outcome for t in result.tests} == {
        "test_square_of_two": Outcome.PASSED,
        "test_square_array": Outcome.PASSED,
        "test_counter": Outcome.PASSED,
    }
    assert [t.hidden for t in result.tests] == [False, False, True]
    assert result.answers[0].answered and result.answers[0].needs_review
    assert (result.hidden_included, result.hidden_not_run) == (True, 0)
    assert result.cell_errors == []
    assert result.timings.total_s >= result.timings.execute_s > 0
    assert {"grader", "python", "numpy"} <= set(result.versions)


def test_aliases_are_graded_like_the_names(graded: Graded) -> None:
    result = graded("graded/aliases")
    assert all(t.outcome == Outcome.PASSED for t in result.tests)


def test_later_cells_run_after_errors(graded: Graded) -> None:
    result = graded("graded/error_then_definitions")
    assert [(e.index, e.ename, e.source_head) for e in result.cell_errors] == [
        (0, "NameError", "undefined_helper()"),
        (3, "ZeroDivisionError", "1 / 0"),
    ]
    assert all(t.outcome == Outcome.PASSED for t in result.tests)  # defined after the errors


def test_hidden_failure_shows_only_the_hint(graded: Graded) -> None:
    result = graded("graded/broken_honest")
    hidden = [t for t in result.tests if t.hidden]
    assert [(t.outcome, t.message) for t in hidden] == [(Outcome.FAILED, HINT)]
    secret = Path(__file__).parents[1] / "fixtures/assignments/tiny/data/hidden/secret.txt"
    assert secret.read_text().strip() not in hidden[0].message
    public = [t for t in result.tests if not t.hidden]
    assert all(t.outcome == Outcome.FAILED for t in public)
    assert any("==" in t.message for t in public)  # public failures do show the assertion


def test_cell_timeout_names_the_cell(graded: Graded) -> None:
    result = graded("timeout/infinite_loop_cell")
    assert "cell 2" in result.message
    assert result.tests and all(t.outcome == Outcome.SKIPPED for t in result.tests)
    assert result.timings.total_s < 15


def test_total_timeout(graded: Graded) -> None:
    result = graded("timeout/total_time")  # 3 s for cells that need 10 s; none runs past 10 s
    assert result.timings.execute_s < 7


def test_crash_is_detected_quickly(graded: Graded) -> None:
    result = graded("crashed/os_exit")
    assert "cell 2" in result.message
    assert result.timings.execute_s < 20  # a dead kernel is noticed, not waited out (60 s)


def test_static_forbidden_import_is_refused_without_running(graded: Graded) -> None:
    result = graded("forbidden_import/inside_function_with_magics")
    assert (result.points, result.tests) == (0.0, [])
    assert "torch" in result.message and "cell 2" in result.message


def test_runtime_forbidden_import_names_the_cell(graded: Graded) -> None:
    result = graded("forbidden_import/exec_at_runtime")
    assert result.message.startswith("cell 2")
    assert [e.ename for e in result.cell_errors] == ["ForbiddenImportError"]


def test_missing_path(tiny: Assignment, tmp_path: Path, fake: FakeSandbox) -> None:
    result = grade_submission(tiny, tmp_path / "nowhere.ipynb", options=Options(sandbox=fake))
    assert result.status == Status.NOT_FOUND
    assert result.max_points == tiny.max_points
    assert fake.requests == []


def test_check_without_hidden_counts_them(
    tiny: Assignment, notebooks: Path, fake: FakeSandbox
) -> None:
    result = grade_submission(
        tiny, notebooks / "graded/full_marks.ipynb", options=Options(sandbox=fake, hidden=False)
    )
    assert result.status == Status.GRADED
    assert (result.hidden_included, result.hidden_not_run) == (False, 1)
    assert result.hidden_points_pending == {"funcs": 1.0}
    assert all(not t.hidden for t in result.tests)
    assert (result.points, result.max_points) == (3.0, 3.0)


def test_kernel_request(tiny: Assignment, notebooks: Path, fake: FakeSandbox) -> None:
    path = notebooks / "graded/full_marks.ipynb"
    hooked: list[int] = []
    options = Options(sandbox=fake, gpus=("0",), on_cell=lambda i, n: hooked.append(i))
    grade_submission(tiny, path, options=options)
    (request,) = fake.requests
    assert request.limits == tiny.resources
    assert request.gpus == ()  # the assignment runs without GPUs whatever was granted
    assert [(m.host, m.target, m.read_only) for m in request.mounts] == [
        (tiny.path("data/public"), "data", True)
    ]
    assert fake.closed == 1
    assert not request.workdir.exists()  # the scratch copy is gone
    assert hooked == [1, 2, 4]


def test_gpus_are_passed_when_the_assignment_may_use_them(
    tiny: Assignment, notebooks: Path, fake: FakeSandbox
) -> None:
    spec = tiny.model_copy(
        update={"resources": tiny.resources.model_copy(update={"gpu": "optional"})}
    )
    grade_submission(
        spec,
        notebooks / "graded/broken_honest.ipynb",
        options=Options(sandbox=fake, gpus=("0", "1"), hidden=False),
    )
    assert fake.requests[0].gpus == ("0", "1")


def test_folder_submission_carries_its_files(
    tiny: Assignment, notebooks: Path, tmp_path: Path, fake: FakeSandbox
) -> None:
    folder = tmp_path / "student"
    folder.mkdir()
    shutil.copy(notebooks / "graded/full_marks.ipynb", folder / "whatever.ipynb")
    (folder / "helper.py").write_text("X = 1\n")
    seen: list[set[str]] = []

    class Spy(FakeSandbox):
        def kernel(self, request):  # type: ignore[no-untyped-def]
            seen.append({p.name for p in request.workdir.iterdir()})
            return super().kernel(request)

    result = grade_submission(tiny, folder, options=Options(sandbox=Spy(), hidden=False))
    assert result.status == Status.GRADED
    assert seen == [{"tiny.ipynb", "helper.py"}]  # the notebook under the name the spec asks for


def test_broken_assignment_tests_raise(
    course: Path, notebooks: Path, tmp_path: Path, fake: FakeSandbox
) -> None:
    broken = tmp_path / "assignments" / "tiny"
    shutil.copytree(course / "assignments" / "tiny", broken)
    (broken / "tests/public/test_broken.py").write_text("def test_x(:\n    pass\n")
    with pytest.raises(GraderError):
        grade_submission(
            load_assignment(broken),
            notebooks / "graded/full_marks.ipynb",
            options=Options(sandbox=fake, hidden=False),
        )


def test_fixture_notebooks_are_what_the_script_builds(notebooks: Path, tmp_path: Path) -> None:
    script = notebooks / "make_notebooks.py"
    spec = importlib.util.spec_from_file_location("make_notebooks", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    template = notebooks.parent / "assignments" / "tiny" / "template.ipynb"
    built = module.build(tmp_path / "nbs", tmp_path / "template.ipynb")
    for path in built:
        committed = (
            template
            if path.name == "template.ipynb" and path.parent == tmp_path
            else notebooks / path.relative_to(tmp_path / "nbs")
        )
        assert committed.read_bytes() == path.read_bytes(), f"rerun {script.name}: {committed}"
    on_disk = {p.relative_to(notebooks) for p in notebooks.rglob("*.ipynb")}
    assert on_disk == {p.relative_to(tmp_path / "nbs") for p in built if p.parent != tmp_path}
