"""Run the grader's host-side tests *inside* the notebook's kernel (for nbgrader and Otter).

benchmarks/side_by_side.py grades one class with ``grade batch`` and with nbgrader and Otter.
Those two run their tests in the student's kernel, so each of their test cells calls
:func:`outcome` here: the first call runs the assignment's own pytest files once, in-kernel,
with the fixtures the grader's plugin provides (``nb``, ``public_data``, ``hidden_data``,
``credit``) backed by the kernel's namespace instead of the bridge. Same notebooks, same test
code, same assertions: only where the tests run differs.

Configuration: ``kshim.json`` beside this file (written by side_by_side.py).
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import types
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

CONFIG = json.loads((Path(__file__).with_name("kshim.json")).read_text())
_RESULTS: dict[str, float] | None = None


def _load(name: str, path: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The bridge's own kernel half resolves names, aliases and keyword aliases, as in grading.
BRIDGE = _load("kshim_bridge", CONFIG["bridge"])
BRIDGE.configure(CONFIG["aliases"])


class Remote:
    """An object of the notebook, used as the bridge's handles are (``get``, method calls)."""

    def __init__(self, obj: Any, owner: str) -> None:
        self._obj, self._owner = obj, owner

    def get(self, name: str) -> Any:
        return BRIDGE._attr(self._obj, self._owner, name)

    def __getattr__(self, name: str) -> Any:
        method = BRIDGE._attr(self._obj, self._owner, name)
        qual = f"{self._owner}.{name}"
        return lambda *a, **kw: method(*a, **BRIDGE._rename_kwargs(method, qual, kw))


class Notebook:
    """The ``nb`` fixture: names defined by the notebook, with the spec's aliases."""

    def new(self, cls: str, *args: Any, **kwargs: Any) -> Remote:
        return Remote(self.call(cls, *args, **kwargs), cls)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        fn = BRIDGE._lookup(name)
        return fn(*args, **BRIDGE._rename_kwargs(fn, name, kwargs))

    def get(self, name: str) -> Any:
        return BRIDGE._lookup(name)


class Plugin:
    def __init__(self) -> None:
        self.results: dict[str, float] = {}
        self.credit_given: dict[str, float] = {}

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "points(value, component, hint): points of a test")

    @pytest.fixture(scope="session")
    def nb(self) -> Notebook:
        return Notebook()

    @pytest.fixture(scope="session")
    def public_data(self) -> Path:
        return Path(CONFIG["public_data"])

    @pytest.fixture(scope="session")
    def hidden_data(self) -> Path:
        return Path(CONFIG["hidden_data"])

    @pytest.fixture
    def credit(self, request: pytest.FixtureRequest) -> Any:
        def give(fraction: float, message: str = "") -> None:
            self.credit_given[request.node.nodeid] = min(1.0, max(0.0, float(fraction)))

        return give

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or not report.passed:
            ok = report.passed and report.when == "call"
            self.results[report.nodeid] = self.credit_given.get(report.nodeid, 1.0) if ok else 0.0


def _grader_helpers() -> None:
    """``from grader.testing import scale`` without importing the grader (not installed here)."""
    if "grader.testing" not in sys.modules:
        package = sys.modules.setdefault("grader", types.ModuleType("grader"))
        sys.modules.setdefault("grader.core", types.ModuleType("grader.core"))
        sys.modules["grader.core.scale"] = _load("grader.core.scale", CONFIG["scale"])
        helpers = _load("grader.testing", CONFIG["helpers"])
        package.testing = helpers  # type: ignore[attr-defined]
        sys.modules["grader.testing"] = helpers


def _run() -> dict[str, float]:
    _grader_helpers()
    plugin = Plugin()
    args = [CONFIG["tests"], "--rootdir", CONFIG["tests"], "-q", "-p", "no:cacheprovider"]
    args += ["-p", "no:faulthandler", "--import-mode=importlib", "--capture=sys", "-o", "addopts="]
    log = io.StringIO()
    # As the grader does: rewritten test modules are cached once, not rewritten per kernel.
    sys.pycache_prefix, sys.dont_write_bytecode = str(Path(__file__).with_name("pyc")), False
    with redirect_stdout(log), redirect_stderr(log):
        pytest.main(args, plugins=[plugin])
    if CONFIG.get("log"):  # for debugging the shim: pytest's own report of the last run
        Path(CONFIG["log"]).write_text(log.getvalue())
    return plugin.results


def outcome(nodeid: str) -> float:
    """The fraction of a test's points the notebook earns (the tests run on the first call)."""
    global _RESULTS
    if _RESULTS is None:
        _RESULTS = _run()
    return _RESULTS.get(nodeid, 0.0)
