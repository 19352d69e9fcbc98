"""Assignment specs: a valid spec loads; every error names the file, the field and a fix."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from grader.core.errors import AssignmentNotFound, SpecError
from grader.core.spec import (
    SPEC_FILE,
    Assignment,
    Resources,
    assignments_root,
    find_assignment,
    load_assignment,
)

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "assignments" / "tiny"
VALID = (TINY / SPEC_FILE).read_text(encoding="utf-8")


def write_spec(tmp_path: Path, text: str, folder: str = "tiny") -> Path:
    target = tmp_path / "assignments" / folder
    target.mkdir(parents=True)
    (target / SPEC_FILE).write_text(text, encoding="utf-8")
    return target


def replaced(old: str, new: str) -> str:
    assert old in VALID, old
    return VALID.replace(old, new, 1)


def with_deadline(deadline: str) -> str:
    """The valid spec with a [late] table: ``deadline`` (a TOML datetime) and a penalty."""
    anchor = 'notebook = "tiny.ipynb"'
    return replaced(anchor, f"{anchor}\n\n[late]\ndeadline = {deadline}\npenalty = 0.1")


def test_valid_spec_loads(tiny: Assignment) -> None:
    assert tiny.id == "tiny"
    assert tiny.notebook == "tiny.ipynb"
    assert tiny.max_points == 4
    assert [c.id for c in tiny.components] == ["funcs", "answers"]
    answers = tiny.component("answers")
    assert answers is not None and answers.kind == "answers"
    assert tiny.component("nope") is None
    assert tiny.resources.cell_timeout == 10 and tiny.resources.memory_mb == 1024
    assert tiny.resources.pids == Resources().pids  # unset fields keep their defaults
    assert tiny.names.aliases == {
        "square": ["sq"],
        "Counter.add": ["plus"],
        "Counter.start": ["initial"],
    }
    assert tiny.names.forbidden_imports == ["torch", "wave"]
    assert [(q.id, q.points, q.min_words) for q in tiny.questions] == [("q1", 1, 3)]
    assert tiny.path(tiny.data.hidden) == tiny.root / "data" / "hidden"
    assert tiny.root.is_absolute() and (tiny.root / SPEC_FILE).is_file()


def test_spec_is_frozen(tiny: Assignment) -> None:
    with pytest.raises(ValidationError):
        tiny.id = "other"  # type: ignore[misc]


def test_root_is_not_serialised(tiny: Assignment) -> None:
    assert "root" not in tiny.model_dump()


def _load_error(tmp_path: Path, text: str, folder: str = "tiny") -> tuple[SpecError, Path]:
    target = write_spec(tmp_path, text, folder)
    with pytest.raises(SpecError) as info:
        load_assignment(target)
    return info.value, target / SPEC_FILE


@pytest.mark.parametrize(
    ("text", "field", "hint_has"),
    [
        pytest.param(
            replaced("cell_timeout = 10", 'cell_timeout = "fast"'),
            "resources.cell_timeout",
            Resources.model_fields["cell_timeout"].description,
            id="wrong-type",
        ),
        pytest.param(
            replaced("memory_mb = 1024", "memory_mb = 100"),
            "resources.memory_mb",
            Resources.model_fields["memory_mb"].description,
            id="below-minimum",
        ),
        pytest.param('titel = "typo"\n' + VALID, "titel", "title", id="unknown-field-lists-known"),
        pytest.param(
            replaced("memory_mb = 1024", "memory_mb = 1024\nmemory = 3"),
            "resources.memory",
            "memory_mb",
            id="unknown-nested-field-lists-known",
        ),
        pytest.param(
            replaced('title = "Tiny"\n', ""),
            "title",
            Assignment.model_fields["title"].description,
            id="missing-required",
        ),
        pytest.param(
            replaced("min_words = 3", "min_words = -3"),
            "questions.0.min_words",
            "words",
            id="question-field",
        ),
        pytest.param(
            VALID + '\n[[components]]\nid = "funcs"\ntitle = "Again"\npoints = 0\n',
            "components",
            "funcs",
            id="duplicate-component-ids",
        ),
        pytest.param(
            VALID + '\n[[questions]]\nid = "q1"\nprompt = "Again?"\n',
            "questions",
            "q1",
            id="duplicate-question-ids",
        ),
        pytest.param(
            replaced('points = 1\nkind = "answers"', 'points = 2\nkind = "answers"'),
            "components.1.points",
            "points = 1",
            id="answers-points-mismatch",
        ),
        pytest.param(
            replaced('kind = "answers"', 'kind = "tests"'),
            "components",
            "answers",
            id="question-points-without-answers-component",
        ),
        pytest.param(
            with_deadline("2026-10-01T23:59:00"),
            "late.deadline",
            "+03:00",
            id="deadline-without-timezone",
        ),
    ],
)
def test_errors_name_file_field_and_fix(
    tmp_path: Path, text: str, field: str, hint_has: str
) -> None:
    exc, file = _load_error(tmp_path, text)
    assert exc.file == file
    assert exc.field == field
    assert hint_has in exc.hint
    rendered = str(exc)
    assert str(file) in rendered and exc.hint in rendered
    assert field in rendered


def test_deadline_with_timezone_loads(tmp_path: Path) -> None:
    """Built like the timezone-less case above, so only the offset differs."""
    spec = load_assignment(write_spec(tmp_path, with_deadline("2026-10-01T23:59:00+03:00")))
    assert spec.late.deadline == datetime(2026, 10, 1, 20, 59, tzinfo=UTC)
    assert spec.resources.cell_timeout == 10


def test_id_must_match_folder(tmp_path: Path) -> None:
    exc, file = _load_error(tmp_path, VALID, folder="other")
    assert (exc.file, exc.field) == (file, "id")
    assert "other" in exc.hint


def test_invalid_toml(tmp_path: Path) -> None:
    exc, file = _load_error(tmp_path, VALID + "\n[[[broken\n")
    assert exc.file == file
    assert exc.field == ""  # a syntax error is not about one field
    assert exc.hint


def test_missing_spec_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_assignment(tmp_path)
    assert info.value.file == tmp_path / SPEC_FILE
    assert info.value.hint


def _models(model: type[BaseModel]) -> set[type[BaseModel]]:
    found = {model}
    for info in model.model_fields.values():
        for candidate in (info.annotation, *getattr(info.annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                found |= _models(candidate)
    return found


def test_every_spec_field_has_a_description() -> None:
    models = _models(Assignment)
    assert {m.__name__ for m in models} >= {
        "Assignment",
        "LatePolicy",
        "Resources",
        "Names",
        "Component",
        "Question",
        "Tests",
        "Data",
    }
    undocumented = [
        f"{m.__name__}.{name}"
        for m in models
        for name, info in m.model_fields.items()
        if not (info.description or "").strip()
    ]
    assert undocumented == []


def test_find_assignment(tmp_path: Path) -> None:
    root = tmp_path / "assignments"
    shutil.copytree(TINY, root / "tiny")
    (root / "not_an_assignment").mkdir()
    assert find_assignment("tiny", root).id == "tiny"
    with pytest.raises(AssignmentNotFound) as info:
        find_assignment("nope", root)
    assert info.value.known == ["tiny"]


def test_assignments_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nested = tmp_path / "course" / "notebooks" / "deep"
    nested.mkdir(parents=True)
    (tmp_path / "course" / "assignments").mkdir()
    monkeypatch.delenv("GRADER_ASSIGNMENTS", raising=False)
    assert assignments_root(nested) == (tmp_path / "course" / "assignments").resolve()
    monkeypatch.setenv("GRADER_ASSIGNMENTS", str(tmp_path / "elsewhere"))
    assert assignments_root(nested) == tmp_path / "elsewhere"
