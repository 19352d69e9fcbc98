"""Running an assignment's tests in-process: nothing of one assignment reaches the next."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.spec import load_assignment
from grader.testing.run import run_tests

TINY = Path(__file__).parent / "fixtures" / "assignments" / "tiny"
CHECK = """import pytest

@pytest.mark.points(1, component="funcs")
def test_conftest_is_this_assignments(which):
    assert which == "{name}"
"""


def _assignment(tmp_path: Path, name: str) -> Path:
    """A copy of the tiny assignment whose tests/conftest.py gives fixture ``which`` = name."""
    root = tmp_path / name
    shutil.copytree(TINY, root)
    spec = root / "assignment.toml"
    spec.write_text(spec.read_text().replace('id = "tiny"', f'id = "{name}"'))
    tests = root / "tests"
    (tests / "conftest.py").write_text(
        f"import pytest\n\n@pytest.fixture\ndef which():\n    return {name!r}\n"
    )
    for test in (tests / "public").glob("test_*.py"):
        test.unlink()
    (tests / "public" / "test_which.py").write_text(CHECK.format(name=name))
    return root


@pytest.mark.parametrize("order", [("first", "second"), ("second", "first")])
def test_each_assignment_gets_its_own_conftest(tmp_path: Path, order: tuple[str, str]) -> None:
    for name in order:
        spec = load_assignment(_assignment(tmp_path, name))
        plugin = run_tests(spec, bridge=None, hidden=False)
        outcomes = {rec.nodeid.split("::")[-1]: rec.outcome for rec in plugin.tests.values()}
        assert outcomes == {"test_conftest_is_this_assignments": "passed"}, name


HINTS = """import pytest
from grader.errors import MissingName, RemoteError


@pytest.mark.points(1, component="funcs", hint="marker hint")
def test_second_check_fails(hint):
    hint("first check: the shape")
    assert [1, 2] == [1, 2]
    hint("second check: the sign")
    assert 1 == 2, "got 41.97, the hidden answer is 42"


@pytest.mark.points(1, component="funcs", hint="check the gradient")
def test_missing_attribute():
    raise MissingName("Model.coef_", defined=["w", "b", "coefs"], tried=["coef_"], on_object=True)


@pytest.mark.points(1, component="funcs", hint="check the gradient")
def test_student_code_raised():
    raise RemoteError("X[0] = 0.3171 (a hidden input)", type="ValueError", target="Model.train()")
"""


def test_hints_name_the_check_that_failed(tmp_path: Path) -> None:
    root = tmp_path / "tiny"
    shutil.copytree(TINY, root)
    for kind in ("public", "hidden"):
        for test in (root / "tests" / kind).glob("test_*.py"):
            test.unlink()
        (root / "tests" / kind / f"test_{kind}_hints.py").write_text(HINTS)
    plugin = run_tests(load_assignment(root), bridge=None, hidden=True)
    recs = {(r.hidden, r.nodeid.split("::")[-1]): r for r in plugin.tests.values()}
    hidden = recs[True, "test_second_check_fails"]
    assert hidden.hint == "second check: the sign"
    assert hidden.message == "got 41.97, the hidden answer is 42"  # no pytest introspection
    missing = recs[True, "test_missing_attribute"]
    assert "Model has no attribute or method 'coef_'" in missing.hint
    assert "it has: w, b, coefs" in missing.hint and "did you mean 'coefs'?" in missing.hint
    raised = recs[True, "test_student_code_raised"]
    assert raised.hint == "Model.train() raised ValueError on the test's data"
    assert "0.3171" in raised.message  # the instructor's detail keeps the student's message
    for name in ("test_missing_attribute", "test_student_code_raised"):
        public = recs[False, name]
        assert public.hint == "" and ("coef_" in public.message or "X[0]" in public.message)
