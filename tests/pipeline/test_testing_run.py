"""Running an assignment's tests in-process: nothing of one assignment reaches the next."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.core.spec import load_assignment
from grader.pipeline.testrun.run import run_tests

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "assignments" / "tiny"
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
from grader.core.errors import MissingName, RemoteError


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


def test_hints_of_bridge_errors_speak_the_course_language(tmp_path: Path) -> None:
    root = tmp_path / "tiny"
    shutil.copytree(TINY, root)
    toml = root / "assignment.toml"
    toml.write_text(toml.read_text().replace('version = "1"', 'version = "1"\nlanguage = "ru"'))
    for test in (root / "tests" / "hidden").glob("test_*.py"):
        test.unlink()
    (root / "tests" / "hidden" / "test_hidden_hints.py").write_text(HINTS)
    plugin = run_tests(load_assignment(root), bridge=None, hidden=True)
    recs = {r.nodeid.split("::")[-1]: r for r in plugin.tests.values() if r.hidden}
    missing = recs["test_missing_attribute"].hint
    assert missing.startswith("у Model нет атрибута или метода 'coef_'")
    assert "у объекта есть: w, b, coefs" in missing and "имелось в виду 'coefs'?" in missing
    raised = recs["test_student_code_raised"].hint
    assert raised == "Model.train() выбросил ValueError на данных теста"


# ---------------------------------------------------------------- host-side bounds (#11)

BUDGETED = """import pytest

from grader.pipeline.testrun.budget import time_budget


@pytest.mark.points(1, component="funcs")
@pytest.mark.budget(0.5)
def test_runaway_host_work():
    while True:  # work sized by a student: far more than the assignment needs
        sum(range(1000))


@pytest.mark.points(1, component="funcs")
def test_bounded_step():
    with time_budget(0.3, what="the finite-difference check"):
        while True:
            sum(range(1000))


@pytest.mark.points(1, component="funcs")
def test_next_one_runs():
    assert True
"""


def test_a_test_past_its_host_budget_fails_and_the_next_runs(tmp_path: Path) -> None:
    root = _assignment(tmp_path, "budget")
    (root / "tests" / "public" / "test_which.py").write_text(BUDGETED)
    plugin = run_tests(load_assignment(root), bridge=None, hidden=False)
    by = {rec.nodeid.split("::")[-1]: rec for rec in plugin.tests.values()}
    assert by["test_runaway_host_work"].outcome == "failed"
    assert "more than 0.5 s of the grader's CPU" in by["test_runaway_host_work"].message
    assert "the finite-difference check used more than 0.3 s" in by["test_bounded_step"].message
    assert by["test_next_one_runs"].outcome == "passed"


def test_rewritten_tests_are_cached_in_memory_and_no_pyc_is_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second run reuses the rewritten module (no rewrite); a pyc planted where pytest
    would look (its __pycache__, the shared cache an earlier grader kept) is never loaded."""
    import importlib.util
    import marshal

    from _pytest.assertion import rewrite

    from grader.pipeline.testrun import run as run_module

    root = _assignment(tmp_path, "cached")
    test = root / "tests" / "public" / "test_which.py"
    test.write_text(CHECK.format(name="someone else"))  # fails: which == "cached"
    source = test.read_bytes()
    passing = compile(source, str(test), "exec", optimize=1)  # asserts stripped
    pyc = importlib.util.MAGIC_NUMBER + b"\x03\x00\x00\x00"
    pyc += importlib.util.source_hash(source)[:8] + marshal.dumps(passing)
    for folder in (test.parent / "__pycache__", tmp_path / "cache" / "dl-grader" / "pyc"):
        target = folder if folder.name == "__pycache__" else folder / str(test.parent)[1:]
        target.mkdir(parents=True, exist_ok=True)
        (target / (test.name[:-3] + rewrite.PYC_TAIL)).write_bytes(pyc)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    calls: list[Path] = []
    original = rewrite._rewrite_test

    def counting(fn: Path, config: pytest.Config) -> tuple[bytes, object]:
        calls.append(fn)
        return original(fn, config)  # type: ignore[return-value]

    monkeypatch.setattr(rewrite, "_rewrite_test", counting)
    run_module._REWRITTEN.clear()
    for _ in range(2):
        plugin = run_tests(load_assignment(root), bridge=None, hidden=False)
        [rec] = plugin.tests.values()
        assert rec.outcome == "failed"  # the planted pyc would pass it
    assert calls.count(test) == 1
    test.write_text(CHECK.format(name="cached"))  # a changed file is rewritten again
    [rec] = run_tests(load_assignment(root), bridge=None, hidden=False).tests.values()
    assert rec.outcome == "passed" and calls.count(test) == 2
