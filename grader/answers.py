"""Written answers, read from markdown cells in a form that survives Colab.

A student writes, anywhere in a markdown cell::

    **Ответ q1:** градиентный спуск сходится, если ...

(``Answer q1:`` works too, with or without bold). The answer runs to the next marker or the
end of the cell. No cell tags or metadata are needed, so it works in any editor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nbformat import NotebookNode

from grader.spec import Question

MARKER = re.compile(
    r"^[ \t>*_#-]*(?:Ответ|Answer)\s*[\[(]?(?P<id>[A-Za-z](?:[\w-]|\.(?=\w))*)[\])]?\s*[:.]?"
    r"[*_ \t]*:?[*_]*",
    re.IGNORECASE | re.MULTILINE,
)
PLACEHOLDERS = (
    "ваш ответ здесь",
    "ваш ответ",
    "your answer here",
    "напишите ответ здесь",
    "todo",
    "...",
)


@dataclass(frozen=True)
class Answer:
    id: str
    text: str
    answered: bool
    reason: str = ""


def extract(nb: NotebookNode) -> dict[str, str]:
    """Answer id → raw text, from every markdown cell (a later answer replaces an earlier one)."""
    found: dict[str, str] = {}
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        matches = list(MARKER.finditer(cell.source))
        for i, match in enumerate(matches):
            end = matches[i + 1].start() if i + 1 < len(matches) else len(cell.source)
            found[match["id"].lower()] = cell.source[match.end() : end].strip()
    return found


def judge(question: Question, raw: str | None) -> Answer:
    """Is the answer there and more than the placeholder?"""
    if raw is None:
        return Answer(question.id, "", False, f"no '**Ответ {question.id}:**' marker found")
    text = _clean(raw)
    placeholders = {*PLACEHOLDERS, _clean(question.placeholder).lower()} - {""}
    if not text or text.lower().strip(" .…") in {p.strip(" .…") for p in placeholders}:
        return Answer(question.id, text, False, "still the placeholder")
    words = len(re.findall(r"\w+", text))
    if question.kind == "text" and words < question.min_words:
        return Answer(
            question.id, text, False, f"{words} words; at least {question.min_words} expected"
        )
    return Answer(question.id, text, True)


def _clean(text: str) -> str:
    return re.sub(r"[*_`]+", "", strip_comments(text)).strip()


def strip_comments(text: str) -> str:
    """``text`` without HTML comments (``<!-- ... -->``), in one pass.

    The same as ``re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)``, which is quadratic on
    text with many openings and no closing: a 240 KB answer of ``<!--`` took 70 s. Once a
    comment is seen not to close, no later one can, so the scan stops there.
    """
    out, pos = [], 0
    while (start := text.find("<!--", pos)) >= 0:
        end = text.find("-->", start + 4)
        if end < 0:
            break
        out.append(text[pos:start])
        pos = end + 3
    out.append(text[pos:])
    return "".join(out)


def read_answers(nb: NotebookNode, questions: list[Question]) -> list[Answer]:
    raw = extract(nb)
    return [judge(q, raw.get(q.id.lower())) for q in questions]
