"""Gradescope's ``results.json`` for one submission (the autograder results format).

Schema: ``{score, output, tests: [{name, score, max_score, output, visibility}]}``. Hidden
tests are ``after_published``: students see them once grades are published, with the hint only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.batch.store import BatchInfo, Stored, write_report
from grader.report.feedback import test_name
from grader.results import AnswerResult, GradeResult

FOLDER = "gradescope"


def gradescope_results(result: GradeResult, info: BatchInfo) -> dict[str, Any]:
    tests: list[dict[str, Any]] = [
        {
            "name": test_name(t),
            "score": t.points,
            "max_score": t.max_points,
            "output": t.message or t.outcome.value,
            "visibility": "after_published" if t.hidden else "visible",
        }
        for t in result.tests
    ]
    tests += [
        {
            "name": f"Written answer {a.id}",
            "score": a.points,
            "max_score": a.max_points,
            "output": _answer_output(a),
            "visibility": "visible",
        }
        for a in result.answers
    ]
    output = [f"{info.title}: {result.status.value}. {result.message}"]
    if result.late_penalty:
        output.append(f"Late penalty: -{result.late_penalty:g} points.")
    return {
        "score": result.points,
        "output": "\n".join(output),
        "tests": tests,
        "visibility": "visible",
        "stdout_visibility": "hidden",
    }


def _answer_output(a: AnswerResult) -> str:
    if a.reviewed:
        return "reviewed" + (f": {a.comment}" if a.comment else "")
    if not a.answered:
        return f"missing: {a.message}"
    return "answered; awaits review" if a.needs_review else "answered"


def write_gradescope(stored: Stored, info: BatchInfo) -> Path:
    folder = stored.folder / FOLDER
    folder.mkdir(exist_ok=True)
    path = folder / "results.json"
    data = gradescope_results(stored.result, info)
    write_report(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    return path
