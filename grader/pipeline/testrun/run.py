"""Run an assignment's pytest files in this process, against a live kernel."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import CodeType

import pytest

from grader.core.errors import GraderError
from grader.core.spec import Assignment
from grader.pipeline.bridge import Bridge
from grader.pipeline.evaluators import fixtures
from grader.pipeline.parsing import collection_held
from grader.pipeline.testrun.plugin import GraderPlugin, Recorded
from grader.sandbox import scratch


def test_dirs(spec: Assignment) -> list[Path]:
    dirs = [spec.path(spec.tests.public), spec.path(spec.tests.hidden)]
    return [d for d in dirs if d.is_dir()]


def run_tests(
    spec: Assignment,
    *,
    bridge: Bridge | None,
    hidden: bool,
    answers: dict[str, str] | None = None,
    collect_only: bool = False,
    artifacts: Path | None = None,
    evaluators: Mapping[str, object] | None = None,
    plugins: Sequence[object] = (),
) -> GraderPlugin:
    """Run public (and hidden) tests; the returned plugin holds every test's record.

    Without ``hidden``, hidden tests are still collected, to count them, but never run.
    ``evaluators``: the assignment's built evaluators, given to tests as fixtures; ``plugins``
    add fixtures (``app`` for web-app assignments, ``grader.pipeline.services.fixtures``).
    """
    hidden_dir = spec.path(spec.tests.hidden)
    plugin = GraderPlugin(
        spec=spec,
        bridge=bridge,
        hidden_dir=hidden_dir,
        run_hidden=hidden,
        answer_texts=answers or {},
        artifacts_dir=artifacts,
    )
    dirs = test_dirs(spec)
    if not dirs:
        return plugin
    with tempfile.TemporaryDirectory(prefix=scratch.prefix("pytest")) as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        args = [
            *map(str, dirs),
            "-c",
            str(ini),
            "--rootdir",
            str(spec.root),
            "--confcutdir",
            str(spec.root),
            "--import-mode=importlib",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:stepwise",
            "-p",
            "no:randomly",
            "-p",
            "no:unraisableexception",
            "-p",
            "no:threadexception",
            "-W",
            "ignore::pytest.PytestAssertRewriteWarning",
            # Only the crash line of a failure is used: native tracebacks skip pytest's
            # parse of each failing test's source.
            "--tb=native",
            *(["--collect-only"] if collect_only else []),
        ]
        # collection_held: pytest parses test sources (assertion rewriting, failure reports);
        # on CPython 3.11 a finalizer run inside such a parse could break it (parsing.py).
        with (
            _quiet() as log,
            _forget_modules(spec.root),
            _no_plugin_autoload(),
            _rewrite_cache(),
            collection_held(),
        ):
            code = pytest.main(args, plugins=[plugin, fixtures(evaluators or {}), *plugins])
    if plugin.interrupted:  # pytest swallows Ctrl-C: the caller must know
        raise KeyboardInterrupt
    if code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR) or (
        plugin.collect_errors
    ):
        detail = "; ".join(plugin.collect_errors) or log.getvalue()[-2000:]
        raise GraderError(
            f"the tests of assignment '{spec.id}' could not run: {detail}",
            hint=f"fix the test files, then run `grade validate {spec.id}`",
        )
    return plugin


@contextlib.contextmanager
def _no_plugin_autoload() -> Iterator[None]:
    """Installed pytest plugins (hypothesis, benchmark...) have no business in grading runs."""
    old = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = old


@contextlib.contextmanager
def _rewrite_cache() -> Iterator[None]:
    """Rewritten test modules are cached in this process's memory, never on disk.

    Test modules are imported afresh for every submission; pytest rewrites their asserts each
    time (~0.25 s a submission for gd_backprop, see docs/design.md). A batch worker keeps the
    rewritten code here, keyed by the file's path and the SHA-256 of its bytes. No pyc file is
    read or written while tests run: a pyc on disk (pytest's ``__pycache__`` or any shared
    cache) could have been planted by a kernel that ran as the same user, and pytest checks a
    pyc against its source, not what its code does.
    """
    from _pytest.assertion import rewrite

    saved = rewrite._read_pyc, rewrite._rewrite_test, sys.dont_write_bytecode
    original = rewrite._rewrite_test

    def rewrite_test(fn: Path, config: pytest.Config) -> tuple[bytes, CodeType]:
        key = _content_key(fn)
        if key is not None and key in _REWRITTEN:
            return _REWRITTEN[key]
        done = original(fn, config)
        if key is not None and _content_key(fn) == key:  # unchanged while it was rewritten
            if len(_REWRITTEN) >= _MAX_CACHED:
                _REWRITTEN.clear()
            _REWRITTEN[key] = done
        return done

    rewrite._read_pyc = lambda *args, **kwargs: None
    rewrite._rewrite_test = rewrite_test
    sys.dont_write_bytecode = True
    try:
        yield
    finally:
        rewrite._read_pyc, rewrite._rewrite_test, sys.dont_write_bytecode = saved


_REWRITTEN: dict[tuple[str, str], tuple[bytes, CodeType]] = {}
_MAX_CACHED = 256


def _content_key(fn: Path) -> tuple[str, str] | None:
    try:
        return str(fn), hashlib.sha256(fn.read_bytes()).hexdigest()
    except OSError:
        return None


@contextlib.contextmanager
def _quiet() -> Iterator[io.StringIO]:
    log = io.StringIO()
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        yield log


@contextlib.contextmanager
def _forget_modules(folder: Path) -> Iterator[None]:
    """Drop the assignment's modules afterwards (test files and conftest.py files alike).

    Under importlib mode every assignment's ``tests/conftest.py`` is module ``tests.conftest``:
    left loaded, it would be handed to the next assignment graded in this process, and state
    would leak into the next submission.
    """
    before = set(sys.modules)
    try:
        yield
    finally:
        root = str(folder.resolve()) + os.sep
        for name in set(sys.modules) - before:
            file = getattr(sys.modules[name], "__file__", None) or ""
            if file.startswith(root):
                del sys.modules[name]


def hidden_tests(spec: Assignment) -> list[Recorded]:
    """The hidden tests that exist, collected without running them."""
    return run_tests(spec, bridge=None, hidden=False, collect_only=True).pending
