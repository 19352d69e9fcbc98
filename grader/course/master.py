"""Master notebooks: one source per assignment, from which ``grade assign ID`` derives the
template and the reference solution (the convention of nbgrader and Otter).

In ``assignments/<id>/master.ipynb``:

* code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines is kept in the reference;
  in the template it becomes the lines of a following ``### BEGIN PROMPT`` / ``### END PROMPT``
  block (written as comments in the master, so the master runs; the leading ``# `` is
  dropped), or else the stub of the course's language (``# ваш код здесь`` and
  ``raise NotImplementedError``; ``# YOUR CODE HERE`` and ``raise NotImplementedError()``);
  ``### BEGIN SOLUTION NO PROMPT`` leaves nothing in the template (a private helper);
* a markdown cell that starts with ``### QUESTION q1`` is written from the spec: the heading
  ``### Вопрос q1``, the prompt, then ``**Ответ q1:**`` with the spec's placeholder (template)
  or the rest of the master's cell, the reference answer (reference): prompts live in one
  place, the spec;
* a cell that starts with ``### REFERENCE ONLY`` (a worked check, plots of the solution) is
  only in the reference, one that starts with ``### TEMPLATE ONLY`` (instructions the solution
  replaces) only in the template, without that first line;
* a cell that starts with ``### INSTRUCTOR`` (notes, checks) is in neither.

The points of the components come from the tests' markers: :func:`component_points` sums them
and ``grade assign`` writes the sums into ``assignment.toml`` (no number kept twice by hand).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.core.errors import GraderError, SpecError
from grader.core.lang import Language
from grader.core.spec import SPEC_FILE, Assignment
from grader.course.authoring import Cell, make_notebook
from grader.pipeline.testrun.run import run_tests

MASTER = "master.ipynb"
STUBS: dict[Language, tuple[str, ...]] = {
    "ru": ("# ваш код здесь", "raise NotImplementedError"),
    "en": ("# YOUR CODE HERE", "raise NotImplementedError()"),
}
_MARK = re.compile(
    r"^(?P<indent>[ \t]*)### (?P<what>BEGIN|END) (?P<kind>SOLUTION|PROMPT)"
    r"(?P<bare> NO PROMPT)?\s*$"
)
_QUESTION = re.compile(r"^### QUESTION (?P<id>[A-Za-z][\w.-]*)\s*$")
_INSTRUCTOR = "### INSTRUCTOR"
_ONLY = {"### REFERENCE ONLY": "reference", "### TEMPLATE ONLY": "template"}


class MasterError(GraderError):
    """The master notebook breaks the convention; ``cell`` is its 1-based number."""

    def __init__(self, message: str, *, cell: int, hint: str = "") -> None:
        super().__init__(f"{MASTER}, cell {cell}: {message}", hint=hint)
        self.cell = cell


@dataclass(frozen=True)
class Derived:
    template: nbformat.NotebookNode
    reference: nbformat.NotebookNode


def derive(spec: Assignment, master: nbformat.NotebookNode) -> Derived:
    """The template and the reference of ``spec`` from its master notebook."""
    template: list[Cell] = []
    reference: list[Cell] = []
    for number, cell in enumerate(master.cells, start=1):
        first, _, rest = cell.source.lstrip().partition("\n")
        if first.startswith(_INSTRUCTOR):
            continue
        only = _ONLY.get(first.rstrip())
        source = rest if only else cell.source
        student, solved = derive_cell(spec, cell.cell_type, source, cell=number)
        if only != "reference":
            template.append(student)
        if only != "template":
            reference.append(solved)
    return Derived(make_notebook(spec.id, template), make_notebook(spec.id, reference))


def derive_cell(spec: Assignment, kind: str, source: str, *, cell: int) -> tuple[Cell, Cell]:
    """(template, reference) of one cell of the master."""
    if kind == "code":
        student, solved = split_code(source, cell=cell, stub=STUBS[spec.language])
        return ("code", student), ("code", solved)
    if (found := _QUESTION.match(source.split("\n", 1)[0])) is not None:
        asked, answered = question_cells(spec, found["id"], source, cell=cell)
        return ("markdown", asked), ("markdown", answered)
    return ("markdown", source), ("markdown", source)


def split_code(source: str, *, cell: int, stub: tuple[str, ...] = STUBS["en"]) -> tuple[str, str]:
    """(template, reference) of one code cell."""
    student: list[str] = []
    solved: list[str] = []
    state, indent, bare = "", "", False
    lines = source.split("\n")
    for i, line in enumerate(lines):
        mark = _MARK.match(line)
        if mark is None:
            if state == "SOLUTION":
                solved.append(line)
            elif state == "PROMPT":
                student.append(_uncomment(line, indent))
            else:
                student.append(line)
                solved.append(line)
            continue
        what, kind = mark["what"], mark["kind"]
        if mark["bare"] and (what, kind) != ("BEGIN", "SOLUTION"):
            raise MasterError(f"NO PROMPT belongs to ### BEGIN SOLUTION, not {what}", cell=cell)
        if what == "BEGIN":
            if state:
                raise MasterError(f"### BEGIN {kind} inside {state}", cell=cell)
            state, indent, bare = kind, mark["indent"], bool(mark["bare"])
            continue
        if state != kind:
            raise MasterError(f"### END {kind} without BEGIN {kind}", cell=cell)
        state = ""
        if kind == "SOLUTION" and not bare and not _prompt_follows(lines, i):
            student += [indent + s for s in stub]
    if state:
        raise MasterError(
            f"### BEGIN {state} is never ended", cell=cell, hint=f"add ### END {state}"
        )
    return "\n".join(student), "\n".join(solved)


def _prompt_follows(lines: list[str], end: int) -> bool:
    after = next((line for line in lines[end + 1 :] if line.strip()), "")
    mark = _MARK.match(after)
    return mark is not None and (mark["what"], mark["kind"]) == ("BEGIN", "PROMPT")


def _uncomment(line: str, indent: str) -> str:
    body = line[len(indent) :] if line.startswith(indent) else line.lstrip()
    if body.startswith("# "):
        return indent + body[2:]
    return indent + body.removeprefix("#")


def question_cells(spec: Assignment, qid: str, source: str, *, cell: int) -> tuple[str, str]:
    question = next((q for q in spec.questions if q.id == qid), None)
    if question is None:
        known = ", ".join(q.id for q in spec.questions) or "none"
        raise MasterError(f"question '{qid}' is not in {SPEC_FILE} (known: {known})", cell=cell)
    answer = source.split("\n", 1)[1].strip() if "\n" in source else ""
    head = f"### Вопрос {qid}\n{question.prompt}\n\n**Ответ {qid}:** "
    return head + (question.placeholder or "ваш ответ здесь"), head + answer


# ---------------------------------------------------------------- points from the tests
def component_points(spec: Assignment) -> dict[str, float]:
    """Points per component: its tests' markers (public and hidden), or its questions'."""
    plugin = run_tests(spec, bridge=None, hidden=False, collect_only=True)
    sums: dict[str, float] = {}
    for rec in [*plugin.tests.values(), *plugin.pending]:
        sums[rec.component] = round(sums.get(rec.component, 0.0) + rec.points, 4)
    answers = round(sum(q.points for q in spec.questions), 4)
    return {c.id: answers if c.kind == "answers" else sums.get(c.id, 0.0) for c in spec.components}


def with_points(spec_text: str, points: dict[str, float], *, file: Path) -> str:
    """``assignment.toml``'s text with each component's ``points = ...`` line set (comments
    and layout kept)."""
    blocks = re.split(r"(?m)^(?=\[\[components\]\])", spec_text)
    out = [blocks[0]]
    for block in blocks[1:]:
        found = re.search(r'(?m)^id\s*=\s*"(?P<id>[^"]+)"', block)
        if found is None or found["id"] not in points:
            raise SpecError("a [[components]] table without a known id", file=file)
        value = f"{points[found['id']]:g}"
        block, n = re.subn(r"(?m)^points\s*=\s*[0-9.eE+-]+", f"points = {value}", block, count=1)
        if n == 0:
            block = block.replace(found.group(), f"{found.group()}\npoints = {value}", 1)
        out.append(block)
    return "".join(out)


# ---------------------------------------------------------------- files
def notebook_text(nb: nbformat.NotebookNode) -> str:
    text: str = nbformat.writes(nb)
    return text + "\n"


def read_master(spec: Assignment) -> nbformat.NotebookNode:
    path = spec.path(MASTER)
    if not path.is_file():
        raise GraderError(f"no {path}", hint="write the master notebook; see docs/instructors.md")
    try:
        nb: nbformat.NotebookNode = nbformat.read(path, as_version=4)
    except (OSError, ValueError, json.JSONDecodeError) as exc:
        raise GraderError(f"{path} is not a notebook: {exc}") from exc
    return nb


@dataclass(frozen=True)
class Written:
    path: Path
    changed: bool


def assign(spec: Assignment, *, reference: Path, write: bool = True) -> list[Written]:
    """Derive template, reference and component points; write what changed (``write``)."""
    derived = derive(spec, read_master(spec))
    spec_file = spec.path(SPEC_FILE)
    old_spec = spec_file.read_text(encoding="utf-8")
    outputs = {
        spec.path("template.ipynb"): notebook_text(derived.template),
        reference: notebook_text(derived.reference),
        spec_file: with_points(old_spec, component_points(spec), file=spec_file),
    }
    done = []
    for path, text in outputs.items():
        changed = not path.is_file() or path.read_text(encoding="utf-8") != text
        if changed and write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        done.append(Written(path, changed))
    return done
