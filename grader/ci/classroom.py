"""GitHub Classroom: the result as ``education/autograding-grading-reporter`` reads it.

Each Classroom "runner" step sets an output ``result``: base64 of the JSON
``{version, status, max_score, tests: [{name, status, score, message, test_code, filename,
line_no, duration}]}``, with ``status`` one of ``pass``, ``fail``, ``error``. The reporter
reads it from the environment variable ``<RUNNER>_RESULTS`` (the workflow passes
``steps.<id>.outputs.result``), adds up the tests' ``score`` against the runners' ``max_score``
and posts "Points X/Y" to Classroom; it prints each test's name and message to the job log,
so those are made log-safe here. Only public checks count: their maximum is ``max_score``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from grader.ci.outcome import USABLE, Graded, test_title
from grader.ci.text import log_safe
from grader.results import Outcome

RUNNER_OUTPUT = "result"
MESSAGE_LIMIT = 2000


def classroom_result(g: Graded, *, max_score: float) -> dict[str, Any]:
    r = g.result
    tests = [
        _test(
            f"{t.component}: {test_title(t)}",
            _status(t.outcome),
            t.points,
            t.message or t.outcome.value,
        )
        for t in r.tests
        if not t.hidden
    ]
    tests += [
        _test(
            f"written answer {a.id}",
            "pass" if a.answered else "fail",
            a.points,
            ("answered; a teacher reviews it" if a.needs_review else "answered")
            if a.answered
            else f"missing: {a.message}",
        )
        for a in r.answers
    ]
    if r.status not in USABLE:
        tests.insert(0, _test("notebook", "error", 0.0, f"{r.status.value}: {r.message}"))
    status = "error" if r.status not in USABLE else _overall(tests)
    return {"version": 1, "status": status, "max_score": max_score, "tests": tests}


def refused_result(message: str, *, max_score: float) -> dict[str, Any]:
    """What Classroom gets when grading could not run at all."""
    tests = [_test("grade ci", "error", 0.0, message)]
    return {"version": 1, "status": "error", "max_score": max_score, "tests": tests}


def _test(name: str, status: str, score: float, message: str) -> dict[str, Any]:
    return {
        "name": log_safe(name)[:200],
        "status": status,
        "score": score,
        "message": log_safe(message)[:MESSAGE_LIMIT],
        "test_code": "",
        "filename": "",
        "line_no": 0,
        "duration": 0,
    }


def _status(outcome: Outcome) -> str:
    if outcome is Outcome.PASSED:
        return "pass"
    return "error" if outcome is Outcome.ERROR else "fail"


def _overall(tests: list[dict[str, Any]]) -> str:
    return "pass" if all(t["status"] == "pass" for t in tests) else "fail"


def encode(payload: dict[str, Any]) -> str:
    """base64 of compact UTF-8 JSON: one line, nothing a step output could misread."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(data).decode("ascii")


def write_outputs(path: Path, values: dict[str, str]) -> None:
    """Append ``name=value`` lines to ``$GITHUB_OUTPUT`` (values are ours: one line each)."""
    lines = []
    for name, value in values.items():
        if "\n" in value or "\r" in value or "=" in name:
            raise ValueError(f"step output {name!r} must be one line")
        lines.append(f"{name}={value}\n")
    with path.open("a", encoding="utf-8") as fh:
        fh.writelines(lines)
