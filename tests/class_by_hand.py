"""A batch output folder built by hand (no kernels) for review and export tests: five students,
hostile answer text, one notebook that timed out; their submissions on disk for code similarity."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from grader.batch.store import BatchInfo, Record, Store
from grader.intake import read_notebook
from grader.results import AnswerResult, ComponentScore, GradeResult, Status
from grader.spec import Assignment

HOSTILE = (
    '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script> '
    "\u202eevil\u202c \x1b[31mred\x1b[0m </textarea> достаточно слов чтобы засчитать ответ"
)
CODE = """
def square(x):
    total = x * x
    if total < 0:
        raise ValueError("impossible")
    return total

class Counter:
    def __init__(self, start=0):
        self.total = start
    def add(self, n):
        self.total += n
        return self.total
"""


def make_spec(root: Path) -> Assignment:
    folder = root / "assignments" / "tiny"
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text(
        "\n".join(
            [
                'id = "tiny"',
                'title = "Tiny <b>HW</b>"',
                'notebook = "tiny.ipynb"',
                "[[components]]",
                'id = "funcs"',
                'title = "Functions"',
                "points = 3",
                "[[components]]",
                'id = "answers"',
                'title = "Answers"',
                "points = 1",
                'kind = "answers"',
                "[[questions]]",
                'id = "q1"',
                'prompt = "Why <i>so</i>?"',
                "points = 1",
                "min_words = 3",
                'rubric = "Full marks: names growth <em>rates</em>."',
            ]
        ),
        encoding="utf-8",
    )
    write_nb(folder / "template.ipynb", "def square(x):\n    pass\n", "")
    from grader.spec import load_assignment

    return load_assignment(folder)


def write_nb(path: Path, code: str, answer: str) -> Path:
    cells = [nbformat.v4.new_code_cell(code)]
    if answer:
        cells.append(nbformat.v4.new_markdown_cell(f"**Ответ q1:** {answer}"))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def save(store: Store, spec: Assignment, student: str, nb: Path, status: Status, text: str) -> None:
    _, sha = read_notebook(nb)
    answered = bool(text)
    result = GradeResult(
        assignment="tiny",
        assignment_version="1",
        submission=str(nb),
        notebook_sha256=sha,
        status=status,
        message=status.value,
        points=2.0 + answered,
        max_points=4.0,
        components=[
            ComponentScore(id="funcs", title="Functions", points=2.0, max_points=3.0),
            ComponentScore(id="answers", title="Answers", points=float(answered), max_points=1.0),
        ],
        answers=[
            AnswerResult(
                id="q1",
                prompt=spec.questions[0].prompt,
                text=text,
                answered=answered,
                points=float(answered),
                max_points=1.0,
                needs_review=answered,
                message="" if answered else "no marker",
            )
        ],
    )
    record = Record(student=student, key="k", source=str(nb), graded_at=datetime.now().astimezone())
    store.save(student, result, record)


@pytest.fixture
def batch_out(tmp_path: Path) -> Path:
    spec = make_spec(tmp_path / "course")
    out = tmp_path / "out"
    store = Store(out)
    store.save_info(BatchInfo.of(spec))
    subs = tmp_path / "subs"
    copied = "квадрат растёт быстрее чем линейная функция при больших x"
    rows = [
        ("anna", CODE, copied, Status.GRADED),
        ("boris", CODE.replace("total", "acc"), copied + "!", Status.GRADED),
        ("vera<script>", "def square(x):\n    return x ** 2\n", HOSTILE, Status.GRADED),
        (
            "gleb",
            "def square(x):\n    while True: pass\n",
            "ответ есть но ноутбук завис",
            Status.TIMEOUT,
        ),
        ("dima", "def square(x):\n    return x*x\n", "", Status.GRADED),
    ]
    for student, code, text, status in rows:
        nb = write_nb(subs / f"{student}.ipynb", code, text)
        save(store, spec, student, nb, status, text)
    return out
