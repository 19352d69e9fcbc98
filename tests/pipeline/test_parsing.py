"""Parses survive finalizers that parse (CPython 3.11.0-7's shared AST recursion depth).

Each test runs a parse while garbage whose finalizer formats a traceback (as asyncio's "Task
exception was never retrieved" does) is collected at nearly every allocation. On an interpreter
with the race, the same parse without the guard is shown to fail first, so the test can fail.
"""

from __future__ import annotations

import ast
import gc
import os
import subprocess
import sys
import textwrap
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

from grader.core.spec import Assignment
from grader.pipeline.parsing import AST_RACE, collection_held, parse
from grader.pipeline.static import analyse
from grader.pipeline.testrun import run as testing_run
from grader.pipeline.testrun.run import run_tests

SOURCE = Path(ast.__file__).read_text(encoding="utf-8")
"""A large module: its tree takes thousands of allocations to build."""
race_only = pytest.mark.skipif(not AST_RACE, reason="this interpreter has no AST race")


class Orphan:
    """Garbage in a reference cycle whose finalizer formats a traceback, then leaves another."""

    armed = False

    def __init__(self) -> None:
        self.cycle = self

    def __del__(self) -> None:
        if not Orphan.armed:
            return
        try:
            {}["missing"]
        except KeyError:
            traceback.format_exc()  # on 3.11: ast.parse of the line, for its carets
        Orphan()


@contextmanager
def finalizers_that_parse() -> Iterator[None]:
    """Automatic collection at nearly every allocation, each finalizing an ``Orphan``."""
    was_enabled, threshold = gc.isenabled(), gc.get_threshold()
    Orphan.armed = True
    Orphan()
    gc.set_threshold(1)
    gc.enable()  # this suite holds collection itself (tests/gc_guard.py)
    try:
        yield
    finally:
        Orphan.armed = False
        gc.set_threshold(*threshold)
        if not was_enabled:
            gc.disable()
        gc.collect()


@race_only
def test_the_race_is_real_here() -> None:
    """Without the guard the parse fails: the tests below would fail without their fix."""
    with finalizers_that_parse(), pytest.raises(SystemError, match="recursion depth mismatch"):
        ast.parse(SOURCE)


def test_parse_holds_collection() -> None:
    with finalizers_that_parse():
        tree = parse(SOURCE, "ast.py")
    assert any(isinstance(n, ast.FunctionDef) and n.name == "parse" for n in tree.body)


def test_holds_nest_and_restore() -> None:
    enabled = gc.isenabled()
    with collection_held(race=True):
        with collection_held(race=True):
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled() == enabled
    with collection_held(race=False):
        assert gc.isenabled() == enabled


def test_static_analysis_is_not_fooled() -> None:
    """A correct cell was reported as a syntax error when its parse was broken."""
    cell = SOURCE + "\nimport numpy as np\n"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    with finalizers_that_parse():
        facts = analyse(nb)
    assert facts.syntax_errors == {}
    assert "numpy" in facts.imports


def test_grading_tests_are_parsed_safely(tiny: Assignment, monkeypatch: pytest.MonkeyPatch) -> None:
    """The grading run's pytest rewrites every test module it has not cached yet."""
    monkeypatch.setattr(testing_run, "_REWRITTEN", {})  # nothing cached: every module is parsed
    with finalizers_that_parse():
        recorded = run_tests(tiny, bridge=None, hidden=False, collect_only=True)
    assert recorded.pending


FAILING_TEST = """
import gc, traceback

class Orphan:
    def __init__(self):
        self.cycle = self

    def __del__(self):
        try:
            {}["missing"]
        except KeyError:
            traceback.format_exc()
        Orphan()

def test_fails():
    Orphan()
    gc.set_threshold(10)
    total = sum([1, 2])
    assert total == 4, "reported with its source: pytest parses this file"
"""


def _pytest_session(folder: Path, *plugins: str) -> subprocess.CompletedProcess[str]:
    (folder / "test_fails.py").write_text(textwrap.dedent(FAILING_TEST), encoding="utf-8")
    (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    options = [arg for name in plugins for arg in ("-p", name)]
    tests = str(Path(__file__).resolve().parents[1])  # where gc_guard.py is
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *options, str(folder)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def test_this_suites_failure_reports_survive(tmp_path: Path) -> None:
    """A failing test is reported as failed, not as pytest's INTERNALERROR (the suite's guard)."""
    if AST_RACE:  # the same session without the guard dies
        bare = _pytest_session(tmp_path)
        assert bare.returncode == pytest.ExitCode.INTERNAL_ERROR, bare.stdout[-2000:]
        assert "recursion depth mismatch" in bare.stdout + bare.stderr
    guarded = _pytest_session(tmp_path, "gc_guard")
    assert guarded.returncode == pytest.ExitCode.TESTS_FAILED, guarded.stdout[-2000:]
    assert "1 failed" in guarded.stdout
