"""The spec reference table in docs/instructors.md, generated from the models' descriptions."""

from __future__ import annotations

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from grader.core.spec import Assignment

BEGIN = "<!-- spec-reference:begin -->"
END = "<!-- spec-reference:end -->"


def reference_table() -> str:
    head = "| field | default | meaning |\n|---|---|---|"
    return "\n".join([head, *_rows(Assignment, "")])


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    out = []
    for name, info in model.model_fields.items():
        if info.exclude:
            continue
        sub = _submodel(info)
        listed = name in ("components", "questions", "metrics", "evaluators")
        out.append(f"| `{prefix}{name}` | {_default(info, sub, listed)} | {info.description} |")
        if sub is not None:
            out += _rows(sub, f"{prefix}{name}{'[].' if listed else '.'}")
    return out


def _submodel(info: FieldInfo) -> type[BaseModel] | None:
    for candidate in (info.annotation, *getattr(info.annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _default(info: FieldInfo, sub: type[BaseModel] | None, listed: bool) -> str:
    if listed:
        return "list of tables" + (" (required)" if info.is_required() else "")
    if sub is not None:
        return "table"
    if info.is_required():
        return "required"
    return f"`{info.get_default(call_default_factory=True)!r}`"


def splice(document: str) -> str:
    """``document`` with the text between the markers replaced by the current table."""
    start, end = document.index(BEGIN) + len(BEGIN), document.index(END)
    return f"{document[:start]}\n{reference_table()}\n{document[end:]}"
