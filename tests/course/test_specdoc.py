from pathlib import Path

from grader.core.spec import Assignment
from grader.course.specdoc import reference_table, splice

DOC = Path(__file__).resolve().parents[2] / "docs" / "instructors.md"


def test_instructors_doc_has_the_current_spec_reference() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert splice(text) == text, "run: python -c 'from grader.course.specdoc import ...' (see docs)"


def test_reference_lists_every_top_level_field() -> None:
    table = reference_table()
    for name, info in Assignment.model_fields.items():
        if not info.exclude:
            assert f"`{name}`" in table
