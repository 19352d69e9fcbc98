"""Declared outcomes of sample submissions (``expected.toml``) and checking results against them."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from grader.core.errors import SpecError
from grader.core.results import GradeResult, Outcome, Status
from grader.core.spec import Assignment
from grader.sandbox.choose import Backend


class Bounds(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    min: float = 0.0
    max: float = float("inf")


class BackendOverride(BaseModel):
    """Fields of :class:`Expectation` that take other values under one backend."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Status | None = None
    min_points: float | None = None
    max_points: float | None = None
    components: dict[str, Bounds] | None = None
    cell_timeout: float | None = None
    memory_mb: int | None = Field(None, ge=256)
    skip: str = ""


class Expectation(BaseModel):
    """What a sample submission must get."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str = Field("", description="What this sample is.")
    status: Status = Field(description="The verdict it must get.")
    min_points: float = Field(0.0, description="Lowest acceptable total.")
    max_points: float = Field(float("inf"), description="Highest acceptable total.")
    components: dict[str, Bounds] = Field(default_factory=dict)
    messages: list[str] = Field(
        default_factory=list,
        description="Texts a student must read about the tests that did not pass in full, each "
        "in some test's message (case-insensitive): a typical bug is told its effect.",
    )
    cell_timeout: float | None = Field(
        None,
        description="Shorter per-cell limit for this sample, so validation stays fast "
        "(for a web app: its time to start answering).",
    )
    memory_mb: int | None = Field(
        None, ge=256, description="Memory limit for this sample instead of the assignment's."
    )
    skip: str = Field("", description="Why this sample is not graded (usually per backend).")
    backends: dict[Backend, BackendOverride] = Field(
        default_factory=dict,
        description="What differs under one sandbox backend, e.g. [backends.docker] "
        'status = "out_of_memory" where rlimits give a MemoryError instead.',
    )

    def for_backend(self, backend: str) -> Expectation:
        """This expectation with the overrides of ``backend`` (a sandbox's name) applied."""
        override = self.backends.get(backend)  # type: ignore[call-overload]
        if override is None:
            return self
        changes = override.model_dump(exclude_none=True, exclude_defaults=True)
        return self.model_copy(update={**changes, "backends": {}})

    def limits_for(self, spec: Assignment) -> Assignment:
        """``spec`` with this sample's limits (cell_timeout, memory_mb) in place."""
        update: dict[str, float | int] = {}
        if self.cell_timeout is not None:
            update["cell_timeout"] = self.cell_timeout
            update["total_timeout"] = min(spec.resources.total_timeout, 3 * self.cell_timeout)
        if self.memory_mb is not None:
            update["memory_mb"] = self.memory_mb
        if not update:
            return spec
        return spec.model_copy(update={"resources": spec.resources.model_copy(update=update)})


def load_expectation(folder: Path) -> Expectation:
    file = folder / "expected.toml"
    try:
        return Expectation.model_validate(tomllib.loads(file.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise SpecError(
            str(exc).splitlines()[0], file=file, hint="see docs/instructors.md"
        ) from exc


def mismatches(result: GradeResult, expected: Expectation) -> list[str]:
    """Human-readable differences between a result and what was declared; empty = as expected."""
    out = []
    if result.status != expected.status:
        out.append(
            f"status {result.status.value} (expected {expected.status.value}): {result.message}"
        )
    if not expected.min_points - 1e-6 <= result.points <= expected.max_points + 1e-6:
        out.append(
            f"{result.points:g} points (expected {expected.min_points:g}–{expected.max_points:g})"
        )
    by_id = {c.id: c for c in result.components}
    for comp_id, bounds in expected.components.items():
        got = by_id[comp_id].points if comp_id in by_id else None
        if got is None or not bounds.min - 1e-6 <= got <= bounds.max + 1e-6:
            out.append(f"component {comp_id}: {got} (expected {bounds.min:g}–{bounds.max:g})")
    told = [t.message.lower() for t in result.tests if t.outcome is not Outcome.PASSED]
    out += [f"no test tells the student {m!r}" for m in expected.messages if not _said(m, told)]
    return out


def _said(text: str, messages: list[str]) -> bool:
    return any(text.lower() in m for m in messages)
