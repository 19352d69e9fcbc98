"""Run the grader's host-side tests *inside* the notebook's kernel (for nbgrader and Otter).

benchmarks/side_by_side.py grades one class with ``grade batch`` and with nbgrader and Otter.
Those two run their tests in the student's kernel, so each of their test cells calls
:func:`outcome` here: the first call runs the assignment's own pytest files once, in-kernel,
with the fixtures the grader's plugin provides (``nb``, ``public_data``, ``hidden_data``,
``credit``, ``hint``); ``nb`` is the grader's own call API whose requests the bridge's kernel
half answers in-process instead of over the kernel's messages. Same notebooks, same test
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
    sys.modules[name] = module  # before it runs: dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _module(name: str, path: str | None = None) -> types.ModuleType:
    """``name`` in ``sys.modules``: the file at ``path``, or an empty package."""
    if name not in sys.modules:
        sys.modules[name] = _load(name, path) if path else types.ModuleType(name)
    return sys.modules[name]


def _grader_modules() -> types.ModuleType:
    """The grader's files the tests and the bridge's host half import, without the grader
    (not installed here): its errors (and their sentences), ``grader.testing``, the codec and
    the call API."""
    for package in ("grader", "grader.core", "grader.pipeline", "grader.pipeline.bridge"):
        _module(package)
    _module("grader.core.lang", CONFIG["lang"])
    _module("grader.core.messages", CONFIG["messages"])  # the errors' English sentences
    _module("grader.core.errors", CONFIG["errors"])
    _module("grader.core.scale", CONFIG["scale"])
    sys.modules["grader"].testing = _module("grader.testing", CONFIG["helpers"])  # type: ignore[attr-defined]
    _module("grader.pipeline.bridge.codec", CONFIG["codec"])
    return _module("grader.pipeline.bridge.api", CONFIG["api"])


# The bridge's own kernel half resolves names, aliases and keyword aliases, as in grading; the
# host half's request and reply handling is the grader's own (api.py), minus the messages.
BRIDGE = _load("kshim_bridge", CONFIG["bridge"])
BRIDGE.configure(CONFIG["aliases"])
API = _grader_modules()


class Notebook(API.Calls):  # type: ignore[name-defined,misc]
    """The ``nb`` fixture: the grader's calls, each answered by the kernel half in-process."""

    def __init__(self) -> None:
        self.limits = API.Limits()

    def _transport(self, req: dict[str, Any], label: str) -> str | None:
        return str(BRIDGE.reply_to(req))


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
    def hint(self) -> Any:
        return lambda text: None

    @pytest.fixture
    def credit(self, request: pytest.FixtureRequest) -> Any:
        def give(fraction: float, message: str = "") -> None:
            self.credit_given[request.node.nodeid] = min(1.0, max(0.0, float(fraction)))

        return give

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or not report.passed:
            ok = report.passed and report.when == "call"
            self.results[report.nodeid] = self.credit_given.get(report.nodeid, 1.0) if ok else 0.0


def _run() -> dict[str, float]:
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
