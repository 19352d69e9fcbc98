"""Imported by the workers' forkserver, once, so that every worker forked from it starts warm.

Importing this module is its whole purpose: it loads the grader's worker, then runs one empty
pytest session so that pytest's plugins (built-in and installed ones, with whatever they import
lazily) are loaded here rather than in each worker's first grading.
"""

from __future__ import annotations

import contextlib
import io
import tempfile

import pytest

import grader.batch.worker  # noqa: F401  (the grading stack: nbclient, zmq, numpy, pydantic)


def _empty_session() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="grader-preload-") as tmp,
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        pytest.main([tmp, "-q", "--rootdir", tmp, "-p", "no:cacheprovider"])


with contextlib.suppress(Exception):
    _empty_session()
