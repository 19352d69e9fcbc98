"""The pytest plugin that runs an assignment's tests on the host.

Fixtures: ``nb`` (the bridge to the executed kernel), ``public_data`` and ``hidden_data``
(host paths), ``assignment`` (the spec), ``answers`` (written answers by id), ``credit``
(partial points), ``measure`` (the value of a metric), ``hint`` (the hint for the check about
to run) and ``artifacts`` (a folder for pictures shown with the feedback); the assignment's
evaluators come as fixtures of their own names (``grader.pipeline.evaluators``).
Markers: ``@pytest.mark.points(n, component="...", hint="...")``, or
``@pytest.mark.metric("id")`` for a test that measures a metric the spec declares (its points,
component and thresholds come from the spec); ``@pytest.mark.budget(seconds)`` (the test's
host-side CPU budget, default ``cell_timeout``; see :mod:`grader.pipeline.testrun.budget`).

A student reads the hint of a failed hidden test, never its assertion message (that may hold
hidden values); the instructor's report has both. A test that checks several things calls
``hint("...")`` before each, so the hint names the check that failed. A bridge error names its own
cause (a missing method, the student's code raising, a time limit) instead of the test's hint.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from grader.core.errors import BridgeTimeout, MissingName, RemoteError
from grader.core.lang import Language
from grader.core.messages import ARROW, Bridged, Scores, missing_name
from grader.core.spec import Assignment
from grader.pipeline.bridge import Bridge
from grader.pipeline.testrun.budget import time_budget


@dataclass
class Recorded:
    """What the plugin saw of one test."""

    nodeid: str
    points: float
    component: str
    hint: str
    hidden: bool
    outcome: str = "error"
    message: str = ""
    fraction: float | None = None
    credit_note: str = ""
    invalid: bool = False
    metric: str = ""
    """Id of the spec's metric this test measures; its points come from the spec."""
    value: float | None = None
    """What the test measured (metric tests)."""


@dataclass(eq=False)
class GraderPlugin:
    spec: Assignment
    bridge: Bridge | None
    hidden_dir: Path | None
    """The hidden tests' folder; tests under it are hidden."""
    run_hidden: bool = True
    """False: hidden tests are collected (to count them) but not run."""
    answer_texts: dict[str, str] = field(default_factory=dict)
    artifacts_dir: Path | None = None
    tests: dict[str, Recorded] = field(default_factory=dict)
    pending: list[Recorded] = field(default_factory=list)
    """Hidden tests that exist but were not run."""
    collect_errors: list[str] = field(default_factory=list)
    interrupted: bool = False
    """Ctrl-C (or the overall deadline) stopped the run: its results are partial."""

    # ---------------------------------------------------------------- hooks
    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "points(n, component, hint): points of a test")
        config.addinivalue_line("markers", "metric(id): the test measures the spec's metric id")
        config.addinivalue_line("markers", "budget(seconds): host-side CPU budget of a test")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        """Each test's own work on the host is bounded (the test fails past its budget)."""
        mark = item.get_closest_marker("budget")
        seconds = float(mark.args[0]) if mark and mark.args else self.spec.resources.cell_timeout
        with time_budget(seconds, what=f"the test {item.name}"):
            return (yield)

    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        keep, drop = [], []
        for item in items:
            rec = self._describe(item)
            if rec.hidden and not self.run_hidden:
                self.pending.append(rec)
                drop.append(item)
            else:
                self.tests[item.nodeid] = rec
                keep.append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep

    def _describe(self, item: pytest.Item) -> Recorded:
        mark = item.get_closest_marker("points")
        metric = item.get_closest_marker("metric")
        hidden = self.hidden_dir is not None and _under(Path(str(item.path)), self.hidden_dir)
        doc = (getattr(item, "obj", None).__doc__ or "").strip().splitlines()
        if metric is not None:
            return self._metric(item.nodeid, metric, mark, hidden, doc[0] if doc else "")
        if mark is None:
            return _invalid(item.nodeid, hidden, "test has no @pytest.mark.points(...) marker")
        points = float(mark.args[0]) if mark.args else float(mark.kwargs.get("n", 0))
        hint = str(mark.kwargs.get("hint", "") or (doc[0] if doc else ""))
        return Recorded(item.nodeid, points, str(mark.kwargs.get("component", "")), hint, hidden)

    def _metric(
        self, nodeid: str, mark: pytest.Mark, points: pytest.Mark | None, hidden: bool, doc: str
    ) -> Recorded:
        """A metric test: points, component and thresholds are the spec's, checked here."""
        metric_id = str(mark.args[0]) if mark.args else str(mark.kwargs.get("id", ""))
        metric = self.spec.metric(metric_id)
        if metric is None:
            known = ", ".join(m.id for m in self.spec.metrics) or "none"
            message = f"unknown metric '{metric_id}' (the spec declares: {known})"
            return _invalid(nodeid, hidden, message)
        if points is not None:
            message = "a metric test takes its points from the spec: remove @pytest.mark.points"
            return _invalid(nodeid, hidden, message)
        hint = doc or metric.title
        return Recorded(nodeid, metric.points, metric.component, hint, hidden, metric=metric.id)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        # pytest reports its own stops (collection errors) as interrupts too
        own = (pytest.Session.Interrupted, pytest.Session.Failed)
        self.interrupted = not isinstance(excinfo.value, own)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid}: {_short(report)}")

    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> None:
        rec = self.tests.get(item.nodeid)
        if rec is not None and call.excinfo is not None:
            told = _bridge_cause(call.excinfo.value, self.spec.language)
            if told is not None:  # a public test's message already says it
                rec.hint = told if rec.hidden else ""

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        rec = self.tests.get(report.nodeid)
        if rec is None or rec.invalid:
            return
        if report.when == "call" or report.failed or report.skipped:
            rec.outcome = "skipped" if report.skipped else report.outcome
            rec.message = _short(report) if report.failed else ""
        if report.when == "call" and report.passed and rec.metric:
            self._credit_metric(rec)

    def _credit_metric(self, rec: Recorded) -> None:
        """The share of the metric's points the measured value is worth, and a note on it."""
        metric = self.spec.metric(rec.metric)
        if metric is None or rec.value is None:
            rec.outcome = "error"
            rec.message = f"the test did not measure metric '{rec.metric}': call measure(value)"
            return
        value = rec.value
        rec.fraction = metric.fraction(value)
        rec.credit_note = Scores.metric_note(
            self.spec.language, title=metric.title, value=value, zero=metric.zero, full=metric.full
        )

    # ---------------------------------------------------------------- fixtures
    @pytest.fixture(scope="session")
    def nb(self) -> Bridge:
        if self.bridge is None:
            pytest.skip("the notebook's kernel is not available")
        return self.bridge

    @pytest.fixture(scope="session")
    def assignment(self) -> Assignment:
        return self.spec

    @pytest.fixture(scope="session")
    def public_data(self) -> Path:
        return self.spec.path(self.spec.data.public)

    @pytest.fixture(scope="session")
    def hidden_data(self) -> Path:
        if not self.run_hidden:
            pytest.skip("hidden data is only available at grading")
        return self.spec.path(self.spec.data.hidden)

    @pytest.fixture(scope="session")
    def answers(self) -> dict[str, str]:
        return dict(self.answer_texts)

    @pytest.fixture(scope="session")
    def artifacts(self, tmp_path_factory: pytest.TempPathFactory) -> Path:
        """Folder for files shown with the feedback (plots as PNG); kept with the result."""
        if self.artifacts_dir is None:
            return tmp_path_factory.mktemp("artifacts")
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        return self.artifacts_dir

    @pytest.fixture
    def credit(self, request: pytest.FixtureRequest) -> Callable[..., None]:
        rec = self.tests[request.node.nodeid]

        def give(fraction: float, message: str = "") -> None:
            rec.fraction = min(1.0, max(0.0, float(fraction)))
            rec.credit_note = message

        return give

    @pytest.fixture
    def measure(self, request: pytest.FixtureRequest) -> Callable[[float], None]:
        """``measure(value)``: what a ``@pytest.mark.metric`` test measured (a number)."""
        rec = self.tests[request.node.nodeid]

        def record(value: float) -> None:
            if not rec.metric:
                raise TypeError("measure() is for tests marked @pytest.mark.metric('id')")
            number = float(value)
            rec.value = number if math.isfinite(number) else math.nan

        return record

    @pytest.fixture
    def hint(self, request: pytest.FixtureRequest) -> Callable[[str], None]:
        """``hint(text)``: what a student reads if the test fails from here on."""
        rec = self.tests[request.node.nodeid]

        def say(text: str) -> None:
            rec.hint = text

        return say


def _invalid(nodeid: str, hidden: bool, message: str) -> Recorded:
    return Recorded(nodeid, 0.0, "", "", hidden, "error", message, invalid=True)


def _bridge_cause(exc: BaseException, lang: Language) -> str | None:
    """What a student may read about a bridge error, in the course's language: the grader's own
    words, never text that the notebook's code produced on hidden inputs (an exception's message
    could echo them)."""
    if isinstance(exc, MissingName):
        what, hint = missing_name(
            lang, exc.name, defined=exc.defined, tried=exc.tried, on_object=exc.on_object
        )
        return f"{what}{ARROW}{hint}"
    if isinstance(exc, BridgeTimeout):
        return Bridged.timeout(lang, target=exc.target, seconds=exc.seconds)
    if isinstance(exc, RemoteError):
        return Bridged.raised(lang, target=exc.target, type=exc.type)
    return None


def _under(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _short(report: Any) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    text = _own_message(text)
    return text if len(text) <= 1500 else text[:1497] + "..."


def _own_message(text: str) -> str:
    """An assertion's own message without pytest's introspection below it (``assert None``,
    ``+ where ... = <function ...>``), which only repeats it in code; as is when it has none."""
    prefix = "AssertionError: "
    own, sep, _ = text.partition("\nassert ")
    if text.startswith(prefix) and sep and own != prefix.strip():
        return own.removeprefix(prefix)
    return text
