"""Gradescope's ``results.json`` for one submission (the autograder results format).

Schema: ``{score, output, tests: [{name, score, max_score, output, visibility}]}``. Hidden
tests are ``after_published``: students see them once grades are published, with the hint only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.core.lang import Language
from grader.core.results import AnswerResult, GradeResult
from grader.core.store import BatchInfo, Stored, write_report
from grader.report.chrome import Chrome as C
from grader.report.chrome import outcome, status
from grader.report.feedback import answer_state, test_name

FOLDER = "gradescope"


def gradescope_results(result: GradeResult, info: BatchInfo) -> dict[str, Any]:
    lang = result.language
    tests: list[dict[str, Any]] = [
        {
            "name": test_name(t, lang),
            "score": t.points,
            "max_score": t.max_points,
            "output": t.message or outcome(t.outcome, lang),
            "visibility": "after_published" if t.hidden else "visible",
        }
        for t in result.tests
    ]
    tests += [
        {
            "name": C.written_answer(lang, id=a.id),
            "score": a.points,
            "max_score": a.max_points,
            "output": _answer_output(a, lang),
            "visibility": "visible",
        }
        for a in result.answers
    ]
    output = [f"{info.title}: {status(result.status, lang)}. {result.message}"]
    if result.late_penalty:
        output.append(C.late_penalty_line(lang, points=result.late_penalty))
    return {
        "score": result.points,
        "output": "\n".join(output),
        "tests": tests,
        "visibility": "visible",
        "stdout_visibility": "hidden",
    }


def _answer_output(a: AnswerResult, lang: Language) -> str:
    if a.reviewed:
        return C.reviewed_short(lang) + (f": {a.comment}" if a.comment else "")
    return answer_state(a, lang)


def write_gradescope(stored: Stored, info: BatchInfo) -> Path:
    folder = stored.folder / FOLDER
    folder.mkdir(exist_ok=True)
    path = folder / "results.json"
    data = gradescope_results(stored.result, info)
    write_report(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    return path
