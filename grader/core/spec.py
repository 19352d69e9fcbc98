"""Assignment specs: ``assignments/<id>/assignment.toml`` loaded into frozen pydantic models.

Every field carries its description and default here; docs and error messages come from it.
"""

from __future__ import annotations

import math
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo

from grader.core.errors import AssignmentNotFound, SpecError
from grader.core.lang import Language
from grader.core.scale import scale

SPEC_FILE = "assignment.toml"
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
PLUGIN_FIXTURES = frozenset(
    {
        *("nb", "assignment", "public_data", "hidden_data", "answers"),
        *("artifacts", "credit", "measure", "hint", "app"),
    }
)
"""Fixtures the grader's pytest plugin provides; an evaluator may not take these names."""
_UNIT = {"day": timedelta(days=1), "hour": timedelta(hours=1)}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Inconsistent(ValueError):
    """Fields that are valid alone but contradict each other; names the field and the fix."""

    def __init__(self, message: str, *, field: str, hint: str) -> None:
        super().__init__(message)
        self.field = field
        self.hint = hint


class LatePolicy(_Model):
    """How late submissions lose points."""

    deadline: datetime | None = Field(
        None, description="Deadline with timezone, e.g. 2026-10-01T23:59:00+03:00; unset = none."
    )
    grace_minutes: float = Field(0, ge=0, description="Minutes after the deadline with no penalty.")
    per: Literal["day", "hour"] = Field("day", description="Unit the penalty is counted in.")
    penalty: float = Field(
        0.0, ge=0, le=1, description="Fraction of the maximum lost per started unit late."
    )
    max_penalty: float = Field(1.0, ge=0, le=1, description="Cap on the fraction lost.")

    @field_validator("deadline")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("the deadline has no timezone")
        return value

    def fraction(self, submitted_at: datetime | None) -> float:
        """Fraction of the maximum lost for submitting at ``submitted_at`` (naive = local)."""
        if self.deadline is None or submitted_at is None or self.penalty == 0:
            return 0.0
        if submitted_at.utcoffset() is None:
            submitted_at = submitted_at.astimezone()
        late = submitted_at - self.deadline - timedelta(minutes=self.grace_minutes)
        if late <= timedelta(0):
            return 0.0
        units = math.ceil(late / _UNIT[self.per])
        return min(self.max_penalty, units * self.penalty)


class Resources(_Model):
    """Limits one submission runs under."""

    total_timeout: float = Field(600, gt=0, description="Seconds for the whole notebook.")
    cell_timeout: float = Field(120, gt=0, description="Seconds for one cell or one test call.")
    memory_mb: int = Field(4096, ge=256, description="Memory limit of the kernel, MiB.")
    cpus: float = Field(1.0, gt=0, description="CPU cores the kernel may use.")
    pids: int = Field(256, ge=16, description="Most processes/threads the kernel may start.")
    disk_mb: int = Field(512, ge=16, description="Largest file / scratch space, MiB.")
    gpu: Literal["none", "optional", "required"] = Field(
        "none", description="Whether the notebook may (optional) or must (required) get a GPU."
    )
    max_output_kb: int = Field(
        1024, ge=16, description="Notebook output kept per submission, KiB; the rest is cut."
    )
    grading_timeout: float | None = Field(
        None,
        gt=0,
        description=(
            "Seconds for grading one submission as a whole (intake, notebook, tests), after "
            "which it is stopped as a grader error; unset = 3 x total_timeout + 120, at least 300."
        ),
    )

    @property
    def grading_limit(self) -> float:
        """``grading_timeout``, or the default derived from ``total_timeout``."""
        return self.grading_timeout or max(300.0, 3 * self.total_timeout + 120)


class Names(_Model):
    """Names the notebook must define, and the aliases accepted for them."""

    required: list[str] = Field(
        default_factory=list,
        description="Top-level names (functions, classes, variables) the tests need.",
    )
    aliases: dict[str, list[str]] = Field(
        default_factory=dict,
        description=(
            "Accepted older spellings: 'Name' -> other names, 'Class.method' -> other "
            "methods, 'Class.param' or 'func.param' -> other parameter names."
        ),
    )
    forbidden_imports: list[str] = Field(
        default_factory=list,
        description="Top-level modules the solution may not import (e.g. torch, sklearn).",
    )


class Component(_Model):
    """A scored part of the assignment."""

    id: str = Field(description="Short id used by tests' points marker (component=...).")
    title: str = Field(description="Shown to students and in the gradebook.")
    points: float = Field(ge=0, description="Maximum points of this part.")
    kind: Literal["tests", "answers"] = Field(
        "tests", description="'tests': sum of its tests' points; 'answers': written answers."
    )


class Metric(_Model):
    """A measured quantity worth points: a test measures it, the spec says what it is worth.

    Points grow linearly from ``zero`` (none) to ``full`` (all); ``full`` below ``zero`` for
    quantities where less is better (a loss, a parameter count).
    """

    id: str = Field(pattern=IDENTIFIER, description="Id a test names: @pytest.mark.metric('id').")
    title: str = Field(description="What is measured, as students read it.")
    component: str = Field(description="Component (kind 'tests') its points count towards.")
    points: float = Field(ge=0, description="Points for reaching `full`.")
    zero: float = Field(description="Value worth no points.")
    full: float = Field(description="Value worth all points.")

    @model_validator(mode="after")
    def _thresholds(self) -> Metric:
        if self.zero == self.full:
            raise _Inconsistent(
                f"metric '{self.id}' has zero = full = {self.full:g}",
                field="metrics",
                hint="set zero to the value worth no points, full to the value worth all",
            )
        return self

    def fraction(self, value: float) -> float:
        """The share of this metric's points ``value`` is worth."""
        return scale(value, zero=self.zero, full=self.full)


class Evaluator(_Model):
    """Trusted grader-side code of the assignment, built once per grading process (a batch
    worker, a `grade check` run) and handed to tests as a fixture: a model, a dataset."""

    name: str = Field(pattern=IDENTIFIER, description="Fixture name tests ask for.")
    file: str = Field(description="Python file, relative to the assignment folder.")
    function: str = Field(
        pattern=IDENTIFIER,
        description="Function in that file that builds the value; called once, with the "
        "Assignment when it takes one argument.",
    )


class Question(_Model):
    """A written question answered in a markdown cell (`**Ответ q1:** ...`)."""

    id: str = Field(description="Id used in the answer marker, e.g. q1.")
    prompt: str = Field(description="The question as students read it.")
    points: float = Field(0, ge=0, description="Points, counted in the 'answers' component.")
    kind: Literal["text", "number", "choice"] = Field(
        "text", description="text: reviewed by people; number/choice: checked by tests."
    )
    min_words: int = Field(
        5, ge=0, description="Fewer words than this counts as not answered (text questions)."
    )
    placeholder: str = Field(
        "", description="Template text that counts as unanswered (besides the defaults)."
    )
    rubric: str = Field(
        "",
        description=(
            "What a full-marks answer holds, for reviewers (grade review); never released."
        ),
    )


class Tests(_Model):
    """Where the assignment's tests are, relative to the assignment folder."""

    public: str = Field("tests/public", description="Tests students may run (grade check).")
    hidden: str = Field("tests/hidden", description="Tests that run only at grading.")


class Data(_Model):
    """Data folders, relative to the assignment folder."""

    public: str = Field("data/public", description="Mounted read-only into the sandbox.")
    hidden: str = Field(
        "data/hidden", description="Host only; tests send inputs from it through the bridge."
    )


class Service(_Model):
    """A web app the submission runs: the assignment is graded over HTTP and in a browser."""

    entry: str = Field(
        "app.py", description="The file that starts the app; a notebook submission becomes it."
    )
    command: list[str] = Field(
        default_factory=lambda: ["python", "app.py"],
        description="How the app starts, in the submission's folder.",
    )
    port: int = Field(
        7860, ge=1024, le=65535, description="TCP port the app listens on (given as $PORT)."
    )
    ready_path: str = Field("/", description="Path polled until the app answers (any status).")
    start_timeout: float = Field(
        120, gt=0, description="Seconds the app has to answer its first request."
    )
    request_timeout: float = Field(30, gt=0, description="Seconds for one HTTP request.")
    image: str = Field(
        "",
        description="Folder of the assignment with an image extension (requirements.txt, "
        "models/) built by `grade image build --assignment ID`; empty = the runtime image.",
    )
    max_submission_mb: int = Field(
        60, ge=1, description="Largest submission folder (code and weights), MiB."
    )
    env: dict[str, str] = Field(
        default_factory=dict,
        description="Extra environment of the app (e.g. OPEN_CLIP_MODEL for baked-in weights).",
    )


class Assignment(_Model):
    """One assignment, as described by its ``assignment.toml``."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Folder name, e.g. gd_backprop.")
    title: str = Field(description="Title shown to students.")
    version: str = Field("1", description="Bump when tests or data change; part of cache keys.")
    notebook: str = Field(description="File name students submit, e.g. gd_backprop.ipynb.")
    language: Language = Field(
        "en", description="Language of the course: feedback and verdicts speak it (ru, en)."
    )
    late: LatePolicy = Field(default_factory=LatePolicy, description="Deadline and penalties.")
    resources: Resources = Field(default_factory=Resources, description="Execution limits.")
    names: Names = Field(default_factory=Names, description="Required and forbidden names.")
    tests: Tests = Field(default_factory=Tests, description="Test folders.")
    data: Data = Field(default_factory=Data, description="Data folders.")
    components: list[Component] = Field(description="Scored parts; their points add up.")
    questions: list[Question] = Field(default_factory=list, description="Written questions.")
    metrics: list[Metric] = Field(
        default_factory=list, description="Measured quantities worth points (thresholds)."
    )
    evaluators: list[Evaluator] = Field(
        default_factory=list, description="Grader-side code built once per grading process."
    )
    service: Service | None = Field(
        None, description="Set when the submission is a web app (see docs/services.md)."
    )
    seed: int = Field(0, description="Seed set for random, numpy and torch before the notebook.")
    root: Path = Field(Path("."), exclude=True, description="Folder the spec was loaded from.")

    @model_validator(mode="after")
    def _check_references(self) -> Assignment:
        _unique("components", [c.id for c in self.components])
        _unique("questions", [q.id for q in self.questions])
        _unique("metrics", [m.id for m in self.metrics])
        _unique("evaluators", [e.name for e in self.evaluators])
        self._check_metrics()
        self._check_evaluators()
        answers = [i for i, c in enumerate(self.components) if c.kind == "answers"]
        q_points = sum(q.points for q in self.questions)
        if q_points and not answers:
            raise _Inconsistent(
                f"the questions carry {q_points:g} points but no component has kind = 'answers'",
                field="components",
                hint=f'add a component with kind = "answers" and points = {q_points:g}',
            )
        if answers and abs(self.components[answers[0]].points - q_points) > 1e-9:
            comp = self.components[answers[0]]
            raise _Inconsistent(
                f"component '{comp.id}' has {comp.points:g} points "
                f"but the questions add up to {q_points:g}",
                field=f"components.{answers[0]}.points",
                hint=f"set points = {q_points:g} there, or change the questions' points",
            )
        return self

    def _check_metrics(self) -> None:
        tests = {c.id for c in self.components if c.kind == "tests"}
        for index, metric in enumerate(self.metrics):
            if metric.component not in tests:
                raise _Inconsistent(
                    f"metric '{metric.id}' counts towards '{metric.component}', which is not a "
                    "component of kind 'tests'",
                    field=f"metrics.{index}.component",
                    hint=f"one of: {', '.join(sorted(tests)) or 'none (add a component)'}",
                )

    def _check_evaluators(self) -> None:
        for index, evaluator in enumerate(self.evaluators):
            if evaluator.name in PLUGIN_FIXTURES:
                raise _Inconsistent(
                    f"evaluator '{evaluator.name}' takes the name of a fixture of the grader",
                    field=f"evaluators.{index}.name",
                    hint=f"choose a name other than {', '.join(sorted(PLUGIN_FIXTURES))}",
                )

    def metric(self, metric_id: str) -> Metric | None:
        return next((m for m in self.metrics if m.id == metric_id), None)

    @property
    def max_points(self) -> float:
        return sum(c.points for c in self.components)

    def path(self, relative: str) -> Path:
        return self.root / relative

    def component(self, component_id: str) -> Component | None:
        return next((c for c in self.components if c.id == component_id), None)


def _unique(field: str, ids: list[str]) -> None:
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise _Inconsistent(
            f"duplicate id {', '.join(repeated)} in {field}",
            field=field,
            hint=f"give every entry of [[{field}]] its own id ({', '.join(repeated)} repeats)",
        )


def load_assignment(folder: Path, *, named_by_folder: bool = True) -> Assignment:
    """Load and validate ``folder/assignment.toml``; raise :class:`SpecError` naming the fix.

    ``named_by_folder=False`` accepts a folder named otherwise (an unpacked student kit)."""
    file = folder / SPEC_FILE
    if not file.is_file():
        raise SpecError("file not found", file=file, hint="create it; see docs/instructors.md")
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"not valid TOML: {exc}", file=file, hint="fix the syntax") from exc
    try:
        spec = Assignment.model_validate({**raw, "root": folder.resolve()})
    except ValidationError as exc:
        raise _spec_error(exc, file) from exc
    if named_by_folder and spec.id != folder.name:
        raise SpecError(
            f"id '{spec.id}' differs from the folder name '{folder.name}'",
            file=file,
            field="id",
            hint=f'set id = "{folder.name}" or rename the folder',
        )
    return spec


def _spec_error(exc: ValidationError, file: Path) -> SpecError:
    first = exc.errors()[0]
    problem = first.get("ctx", {}).get("error")
    if isinstance(problem, _Inconsistent):
        return SpecError(str(problem), file=file, field=problem.field, hint=problem.hint)
    loc = first["loc"]
    field = ".".join(str(p) for p in loc)
    if first["type"] == "extra_forbidden":
        model, _ = _walk(loc[:-1])
        known = ", ".join(
            n for n, f in (model.model_fields if model else {}).items() if not f.exclude
        )
        hint = f"remove it or fix its spelling; known fields here: {known}"
        return SpecError("unknown field", file=file, field=field, hint=hint)
    return SpecError(first["msg"], file=file, field=field, hint=_field_help(loc))


def _field_help(loc: tuple[int | str, ...]) -> str:
    """The description of the field at ``loc``, walked through the models."""
    _, info = _walk(loc)
    if info is None:
        return "see docs/instructors.md for the spec format"
    if info.is_required():
        return f"{info.description} (required)"
    default = info.get_default(call_default_factory=True)
    return f"{info.description} (default {default!r})"


def _walk(loc: tuple[int | str, ...]) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """The model reached by following ``loc`` from :class:`Assignment`, and the last field."""
    model: type[BaseModel] | None = Assignment
    info = None
    for part in loc:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            continue
        info = model.model_fields[part]
        ann = info.annotation
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
        if model is None and ann is not None:
            model = _item_model(ann)
    return model, info


def _item_model(annotation: object) -> type[BaseModel] | None:
    for arg in getattr(annotation, "__args__", ()):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def assignments_root(start: Path | None = None) -> Path:
    """The ``assignments/`` folder: $GRADER_ASSIGNMENTS, else the nearest one above ``start``."""
    import os

    env = os.environ.get("GRADER_ASSIGNMENTS")
    if env:
        return Path(env)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "assignments").is_dir():
            return folder / "assignments"
    return here / "assignments"


def known_assignments(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / SPEC_FILE).is_file())


def find_assignment(assignment_id: str, root: Path | None = None) -> Assignment:
    """Load the assignment ``assignment_id`` from ``root`` (default: :func:`assignments_root`)."""
    root = root or assignments_root()
    folder = root / assignment_id
    if not (folder / SPEC_FILE).is_file():
        raise AssignmentNotFound(
            f"no assignment '{assignment_id}' in {root}", known=known_assignments(root)
        )
    return load_assignment(folder)
