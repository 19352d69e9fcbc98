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
