"""``grade validate``: an assignment is consistent, its reference solution gets full marks,
its template gets (near) nothing, and every sample submission gets the outcome it declares."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from grader.core.results import GradeResult, Status
from grader.core.spec import Assignment
from grader.course.expectations import Expectation, load_expectation, mismatches
from grader.course.locate import reference_solution, samples
from grader.pipeline.grading import Options, grade_submission
from grader.pipeline.testrun.run import run_tests

TEMPLATE_MAX_FRACTION = 0.1
"""The untouched template may earn at most this share of the test points."""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


GradeMany = Callable[[Sequence[tuple[Path, Assignment]], Callable[[int, GradeResult], None]], None]
"""Grades ``(notebook, spec)`` pairs (in any order, in parallel if it likes) and calls back with
each one's index and result: ``grader.batch.many.in_parallel`` is one, on the batch's workers."""


@dataclass(frozen=True)
class _Target:
    """A notebook validate grades, the spec it is graded under, and its judge."""

    name: str
    path: Path
    spec: Assignment
    judge: Callable[[GradeResult], str]
    """The problem with a result, or "" when it is as declared."""


def validate_assignment(
    spec: Assignment,
    *,
    course: Path,
    options: Options,
    on_check: Callable[[Check], None] | None = None,
    grade_many: GradeMany | None = None,
    samples: Collection[str] | None = None,
) -> list[Check]:
    """The checks in order; ``on_check`` hears each as it is known. The notebooks are graded
    one after another with ``options`` unless ``grade_many`` is given. ``samples``: only these
    sample folders (by name) beside the reference and the template; an unknown name is a
    failed check."""
    say = on_check or (lambda check: None)
    layout = points_layout(spec)
    say(layout)
    entries = _entries(spec, course, samples)
    targets = [e for e in entries if isinstance(e, _Target)]
    for entry in entries:
        if isinstance(entry, Check):
            say(entry)
    judged: dict[int, Check] = {}

    def judge(index: int, result: GradeResult) -> None:
        t = targets[index]
        problem = t.judge(result)
        judged[index] = Check(t.name, not problem, problem or _summary(result))
        say(judged[index])

    pairs = [(t.path, t.spec) for t in targets]
    if grade_many is None:
        full = Options(**{**options.__dict__, "hidden": True})
        for index, (path, target_spec) in enumerate(pairs):
            judge(index, grade_submission(target_spec, path, options=full))
    else:
        grade_many(pairs, judge)
    ungraded = {i: Check(t.name, False, "not graded") for i, t in enumerate(targets)}
    checks = {id(t): judged.get(i, ungraded[i]) for i, t in enumerate(targets)}
    return [layout, *(e if isinstance(e, Check) else checks[id(e)] for e in entries)]


def _entries(
    spec: Assignment, course: Path, only: Collection[str] | None = None
) -> list[_Target | Check]:
    """What to grade, in order; a notebook that is missing is a failed check at once."""
    template = spec.path("template") if spec.service else spec.path("template.ipynb")
    wanted = [
        (
            "reference solution gets full marks",
            reference_solution(course, spec.id),
            spec,
            partial(_full_marks, spec),
        ),
        ("template gets (near) zero", template, spec, partial(_near_zero, spec)),
    ]
    folders = samples(course, spec.id)
    unknown = sorted(set(only or ()) - {f.name for f in folders})
    if unknown:
        return [Check(f"sample '{name}'", False, "no such sample folder") for name in unknown]
    for folder in folders:
        if only is not None and folder.name not in only:
            continue
        expected = load_expectation(folder)
        judge = partial(_as_declared, expected)
        wanted.append((f"sample '{folder.name}'", folder, _sample_spec(spec, expected), judge))
    return [
        _Target(name, path, target_spec, check)
        if path.exists()
        else Check(name, False, f"{path} is missing")
        for name, path, target_spec, check in wanted
    ]


def _summary(result: GradeResult) -> str:
    return f"{result.status.value}, {result.points:g}/{result.max_points:g}"


def points_layout(spec: Assignment) -> Check:
    """Every test has points and a known component; components add up to their points."""
    plugin = run_tests(spec, bridge=None, hidden=True, collect_only=True)
    per: dict[str, float] = defaultdict(float)
    problems = [f"{r.nodeid}: {r.message}" for r in plugin.tests.values() if r.invalid]
    for rec in plugin.tests.values():
        per[rec.component] += rec.points
        if not rec.invalid and spec.component(rec.component) is None:
            problems.append(f"{rec.nodeid}: unknown component '{rec.component}'")
    measured = {r.metric for r in plugin.tests.values() if r.metric and not r.invalid}
    problems += [
        f"metric '{m.id}' is measured by no test" for m in spec.metrics if m.id not in measured
    ]
    for comp in spec.components:
        if comp.kind == "tests" and abs(per[comp.id] - comp.points) > 1e-6:
            problems.append(
                f"component '{comp.id}': tests add up to {per[comp.id]:g}, "
                f"spec says {comp.points:g}"
            )
    detail = "; ".join(problems) or f"{len(plugin.tests)} tests, {spec.max_points:g} points"
    return Check("tests and points are consistent", not problems, detail)


def _full_marks(spec: Assignment, r: GradeResult) -> str:
    if r.status is not Status.GRADED or r.points < spec.max_points - 1e-6:
        failed = [t.id for t in r.tests if t.points < t.max_points]
        return f"{r.status.value}, {r.points:g}/{spec.max_points:g}: {r.message}; short: {failed}"
    return ""


def _near_zero(spec: Assignment, r: GradeResult) -> str:
    test_points = sum(t.points for t in r.tests)
    test_max = sum(t.max_points for t in r.tests) or 1.0
    if test_points > TEMPLATE_MAX_FRACTION * test_max or any(a.answered for a in r.answers):
        passed = [t.id for t in r.tests if t.points > 0]
        return f"template earns {test_points:g}/{test_max:g} test points: {passed}"
    return ""


def _sample_spec(spec: Assignment, expected: Expectation) -> Assignment:
    """The spec a sample is graded under: with its own, shorter, time limits if it has them."""
    if expected.cell_timeout is None:
        return spec
    limits = spec.resources.model_copy(
        update={
            "cell_timeout": expected.cell_timeout,
            "total_timeout": min(spec.resources.total_timeout, 3 * expected.cell_timeout),
        }
    )
    spec = spec.model_copy(update={"resources": limits})
    if spec.service is not None:  # an app: the sample's time to start answering
        quick = spec.service.model_copy(update={"start_timeout": expected.cell_timeout})
        spec = spec.model_copy(update={"service": quick})
    return spec


def _as_declared(expected: Expectation, result: GradeResult) -> str:
    return "; ".join(mismatches(result, expected))
