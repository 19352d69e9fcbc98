"""The layers of docs/design.md, enforced: which part of the grader may import which, no import
cycles, and ``grade report`` without the kernel stack.

    cli ─→ everything
    ci ─→ batch, report ─→ …        batch, course ─→ pipeline ─→ sandbox ─→ core
    review ─→ course, pipeline, report            export ─→ course, report
    report ─→ core only                           testing ─→ core
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

import grader

PACKAGE = Path(grader.__file__).resolve().parent
PARTS = (
    *("core", "sandbox", "pipeline", "report", "course", "batch"),
    *("ci", "review", "export", "testing", "cli"),
)
ALLOWED = {
    "core": {"core"},
    "sandbox": {"core", "sandbox"},
    "pipeline": {"core", "sandbox", "pipeline"},
    "report": {"core", "report"},
    "course": {"core", "sandbox", "pipeline", "course"},
    "batch": {"core", "sandbox", "pipeline", "batch"},
    "ci": {"core", "sandbox", "pipeline", "batch", "report", "ci"},
    "review": {"core", "pipeline", "course", "report", "review"},
    "export": {"core", "course", "report", "export"},
    "testing": {"core", "testing"},
    "cli": set(PARTS),
    "": {"core", "pipeline"},  # grader/__init__.py: the public names, loaded lazily
}
KERNEL_STACK = ("nbclient", "jupyter_client", "zmq", "pytest", "docker", "grader.pipeline")
"""What ``grade report`` must not import: it only re-renders stored JSON."""


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def part(module: str) -> str:
    """``grader.pipeline.execute`` → ``pipeline``; ``grader`` → ``""``."""
    return module.split(".")[1] if module.count(".") else ""


def imports(path: Path, *, module_level: bool) -> Iterator[tuple[str, int]]:
    """Every ``grader...`` module ``path`` imports, with its line. ``module_level``: only what
    runs when the module is imported (not inside functions, not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = _top(tree.body) if module_level else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name == "grader" or name.startswith("grader."):
                yield name, node.lineno


def _top(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            yield from _top(getattr(node, field, []))


def test_every_module_belongs_to_a_layer() -> None:
    assert {part(m) for m in modules()} <= set(ALLOWED)


def test_layers_import_only_what_they_may() -> None:
    known = modules()
    wrong = []
    for module, path in known.items():
        for target, line in imports(path, module_level=False):
            if target not in known and target.rsplit(".", 1)[0] in known:
                target = target.rsplit(".", 1)[0]  # ``from grader.core import errors``
            if part(target) not in ALLOWED[part(module)]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles() -> None:
    known = modules()
    graph = {
        m: {t for t, _ in imports(p, module_level=True) if t in known and t != m}
        for m, p in known.items()
    }
    for module, targets in graph.items():  # a package imports its parent package first
        targets.discard(module.rsplit(".", 1)[0])
    cycles = []
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycles.append(" → ".join([*path[path.index(module) :], module]))
            return
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert not cycles, "\n".join(cycles)


def test_the_version_comes_from_the_package_metadata() -> None:
    assert grader.__version__ == metadata.version("dl-grader")
    literal = [
        str(p.relative_to(PACKAGE.parent))
        for p in modules().values()
        if "__version__ =" in p.read_text(encoding="utf-8")
    ]
    assert literal == []


def _imported_by(code: str) -> set[str]:
    """Modules a fresh interpreter imports to run ``code`` (``python -X importtime``)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()]
    return {row for row in rows if row and row != "imported package"}


@pytest.mark.parametrize("command", ["report", "report --help", "--help"])
def test_grade_report_needs_no_kernel_stack(command: str, tmp_path: Path) -> None:
    args = [*command.split(), *([str(tmp_path)] if command == "report" else [])]
    code = f"import sys; from grader.cli import app\ntry: app({args!r})\nexcept SystemExit: pass"
    loaded = _imported_by(code)
    assert ("grader.cli.main" in loaded and "grader.core.store" in loaded) or command != "report"
    heavy = sorted(
        m for m in loaded if m.split(".")[0] in KERNEL_STACK or m.startswith(KERNEL_STACK)
    )
    assert heavy == []
