"""Static checks on a notebook's code cells: imports, defined names, syntax.

Code is never executed here; IPython syntax (``%matplotlib inline``, ``!pip install x``,
``%%time`` cells) is blanked out line by line, then the cell is read with ``ast``. (IPython's own
transformer would do the same but costs half a second of imports per grader process.)
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from nbformat import NotebookNode

from grader.core.outcomes import StaticOutcome
from grader.core.spec import Names
from grader.pipeline.parsing import parse

_DYNAMIC_IMPORTERS = {"__import__", "import_module"}


@dataclass(frozen=True)
class CodeFacts:
    """What the code cells import and define, read without running them."""

    imports: dict[str, int] = field(default_factory=dict)
    """Top-level module → index of the first cell importing it."""
    defined: set[str] = field(default_factory=set)
    methods: dict[str, set[str]] = field(default_factory=dict)
    syntax_errors: dict[int, str] = field(default_factory=dict)


_MAGIC = re.compile(r"^(?P<indent>[ \t]*)(?:\w+\s*=\s*)?(?:%(?=[\w%])|!(?!=))")
"""A magic (``%time``) or shell line (``!ls``, ``files = !ls``); not ``!=`` or ``% n``
continuing an expression."""
_PY_CELL_MAGICS = {"time", "timeit", "capture", "prun"}


def to_python(source: str) -> str:
    """IPython cell source → plain Python; magic and shell lines become ``pass``."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        name = lines[0].lstrip()[2:].split(maxsplit=1)[0] if lines[0].strip() != "%%" else ""
        if name not in _PY_CELL_MAGICS:
            return ""  # %%bash, %%writefile ...: not Python
        lines = ["pass", *lines[1:]]
    return "\n".join(_blank(line) for line in lines)


def _blank(line: str) -> str:
    match = _MAGIC.match(line)
    if match:
        return f"{match['indent']}pass"
    return line[:-1] if line.rstrip().endswith("?") and not line.lstrip().startswith("#") else line


def analyse(nb: NotebookNode) -> CodeFacts:
    facts = CodeFacts()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        try:
            tree = parse(to_python(cell.source))
        except SyntaxError as exc:
            facts.syntax_errors[index] = f"line {exc.lineno}: {exc.msg}"
            continue
        except Exception as exc:  # IPython's transformer can fail on odd input
            facts.syntax_errors[index] = str(exc)
            continue
        _collect(tree, index, facts)
    return facts


def _collect(tree: ast.Module, index: int, facts: CodeFacts) -> None:
    for node in ast.walk(tree):
        for module in _imported(node):
            facts.imports.setdefault(module.split(".")[0], index)
    for node in _top_level(tree.body):
        facts.defined.update(_defines(node))
        if isinstance(node, ast.ClassDef):
            facts.methods.setdefault(node.name, set()).update(
                n.name for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            )


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run at module level: the body and the blocks of if/for/while/with/try."""
    for node in body:
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for name in ("body", "orelse", "finalbody"):
            yield from _top_level(getattr(node, name, []))
        for handler in getattr(node, "handlers", []):
            yield from _top_level(handler.body)
        for case in getattr(node, "cases", []):
            yield from _top_level(case.body)


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return [node.module]
    if isinstance(node, ast.Call) and _call_name(node.func) in _DYNAMIC_IMPORTERS:
        first = node.args[0] if node.args else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return [first.value]
    return []


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def _defines(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    targets: list[ast.expr | None] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.For | ast.AsyncFor):
        targets = [node.target]
    elif isinstance(node, ast.With | ast.AsyncWith):
        targets = [item.optional_vars for item in node.items]
    return {name for t in targets if t is not None for name in _bound(t)}


def _bound(target: ast.expr) -> set[str]:
    """Names an assignment target binds (``model.w = ...`` and ``a[0] = ...`` bind none)."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, ast.Starred):
        return _bound(target.value)
    if isinstance(target, ast.Tuple | ast.List):
        return {name for elt in target.elts for name in _bound(elt)}
    return set()


def forbidden(facts: CodeFacts, names: Names) -> dict[str, int]:
    """Forbidden modules the notebook imports → the cell that imports them."""
    banned = set(names.forbidden_imports)
    return {m: cell for m, cell in facts.imports.items() if m in banned}


def missing(facts: CodeFacts, names: Names) -> list[str]:
    """Required names defined neither under their own name nor under an accepted alias."""
    return [
        name
        for name in names.required
        if not ({name, *names.aliases.get(name, [])} & facts.defined)
    ]


def user_names(facts: CodeFacts) -> list[str]:
    return sorted(n for n in facts.defined if not n.startswith("_"))


def outcome(facts: CodeFacts, names: Names) -> StaticOutcome:
    """The static stage's finding, for the verdict."""
    return StaticOutcome(
        forbidden=forbidden(facts, names),
        missing=tuple(missing(facts, names)),
        defined=tuple(user_names(facts)),
        syntax_errors=dict(facts.syntax_errors),
    )
