"""Evaluators: an assignment's trusted grader-side code that outlives one submission.

An assignment may need something expensive on the host to grade with: a network that scores
generated samples, a held-out dataset, a reference model. The spec declares each one::

    [[evaluators]]
    name = "digit_scorer"          # the fixture tests ask for
    file = "grader_side.py"        # relative to the assignment folder
    function = "train_scorer"      # builds the value; takes nothing, or the Assignment

:class:`Evaluators` resolves the declarations when it is made (the file is imported, the
function checked: a mistake is a :class:`~grader.core.errors.SpecError` naming the field) and
builds each value at most once in its life. Its owner sets the lifetime: a batch worker makes
one when it starts and builds everything before its first submission; ``grade check`` and
``grade validate`` make one per command. Tests receive the values as session fixtures; a
value is shared by every submission its owner grades, so evaluators must not keep state
from one student to the next (what a test gets is the same object each time).

This is a typed registry, not pluggy: each name has exactly one provider, declared in the spec
and checked when it is loaded; pluggy's strength (many plugins answering one hook) is not
needed here, and pytest (our plugin host for tests) already hands the values to tests.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import types
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from grader.core.errors import GraderError, SpecError
from grader.core.spec import SPEC_FILE, Assignment, Evaluator

Factory = Callable[..., object]


class Evaluators:
    """The evaluators of one assignment; each value is built once, when first needed."""

    def __init__(self, spec: Assignment) -> None:
        self.spec = spec
        self._factories = {
            e.name: _resolve(spec, index, e) for index, e in enumerate(spec.evaluators)
        }
        self._values: dict[str, object] = {}

    @property
    def names(self) -> list[str]:
        return list(self._factories)

    def built(self) -> list[str]:
        """Names whose value has been built."""
        return list(self._values)

    def get(self, name: str) -> object:
        if name not in self._values:
            self._values[name] = self._build(name)
        return self._values[name]

    def build_all(self) -> Mapping[str, object]:
        """Every value, built now if it was not (a worker calls this before its first job)."""
        return {name: self.get(name) for name in self._factories}

    def _build(self, name: str) -> object:
        factory = self._factories[name]
        takes_spec = bool(inspect.signature(factory).parameters)
        try:
            return factory(self.spec) if takes_spec else factory()
        except Exception as exc:
            raise GraderError(
                f"evaluator '{name}' of assignment '{self.spec.id}' could not be built: "
                f"{type(exc).__name__}: {exc}",
                hint=f"fix it, then run `grade validate {self.spec.id}`",
            ) from exc


def fixtures(values: Mapping[str, object]) -> types.ModuleType:
    """A pytest plugin giving each value as a session fixture of its name."""
    plugin = types.ModuleType("grader_evaluators")
    for name, value in values.items():
        setattr(plugin, f"_evaluator_{name}", _fixture(name, value))
    return plugin


def _fixture(name: str, value: object) -> object:
    def give() -> object:
        return value

    give.__doc__ = f"The assignment's evaluator '{name}' (built once per grading process)."
    return pytest.fixture(scope="session", name=name)(give)


def _resolve(spec: Assignment, index: int, evaluator: Evaluator) -> Factory:
    """The declared function, checked: file inside the assignment, importable, callable,
    taking nothing or the Assignment."""
    field = f"evaluators.{index}"
    path = (spec.root / evaluator.file).resolve()
    if not path.is_relative_to(spec.root.resolve()) or path.suffix != ".py":
        raise _error(
            spec, f"file '{evaluator.file}' is not a .py file inside the assignment", field
        )
    if not path.is_file():
        raise _error(spec, f"file '{evaluator.file}' does not exist", f"{field}.file")
    module = _load(spec, path, field)
    factory: object = getattr(module, evaluator.function, None)
    if not callable(factory):
        found = sorted(n for n, v in vars(module).items() if inspect.isfunction(v))
        raise _error(
            spec,
            f"{evaluator.file} has no function '{evaluator.function}'",
            f"{field}.function",
            hint=f"functions there: {', '.join(found) or 'none'}",
        )
    takes = inspect.signature(factory).parameters
    if len(takes) > 1 or any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in takes.values()):
        raise _error(
            spec,
            f"{evaluator.function}() takes {len(takes)} arguments",
            f"{field}.function",
            hint="it must take nothing, or one argument: the Assignment",
        )
    return factory


def _load(spec: Assignment, path: Path, field: str) -> types.ModuleType:
    """Import the evaluator's file once per process, under a name of its own."""
    name = f"_grader_evaluators_{spec.id}_{path.stem}"
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__file__", None) == str(path):
        return loaded
    found = importlib.util.spec_from_file_location(name, path)
    assert found is not None and found.loader is not None
    module = importlib.util.module_from_spec(found)
    sys.modules[name] = module
    try:
        found.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise _error(
            spec, f"{path.name} cannot be imported: {type(exc).__name__}: {exc}", field
        ) from exc
    return module


def _error(spec: Assignment, message: str, field: str, hint: str = "") -> SpecError:
    file = spec.root / SPEC_FILE
    return SpecError(message, file=file, field=field, hint=hint or "see docs/instructors.md")
