"""``grade validate``: an assignment is consistent, its reference solution gets full marks,
its template gets (near) nothing, and every sample submission gets the outcome it declares."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from grader.core.results import GradeResult, Status
from grader.core.spec import Assignment
from grader.course.expectations import load_expectation, mismatches
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


def validate_assignment(
    spec: Assignment,
    *,
    course: Path,
    options: Options,
    on_check: Callable[[Check], None] | None = None,
) -> list[Check]:
    out = []
    for check in _checks(spec, course, options):
        out.append(check)
        if on_check:
            on_check(check)
    return out


def _checks(spec: Assignment, course: Path, options: Options) -> Iterator[Check]:
    yield points_layout(spec)
    full = Options(**{**options.__dict__, "hidden": True})
    ref = reference_solution(course, spec.id)
    yield _graded_check("reference solution gets full marks", spec, ref, full, _full_marks)
    template = spec.path("template") if spec.service else spec.path("template.ipynb")
    yield _graded_check("template gets (near) zero", spec, template, full, _near_zero)
    for folder in samples(course, spec.id):
        yield _sample(spec, folder, full)


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


def _graded_check(
    name: str,
    spec: Assignment,
    path: Path,
    options: Options,
    judge: Callable[[Assignment, GradeResult], str],
) -> Check:
    if not path.exists():
        return Check(name, False, f"{path} is missing")
    result = grade_submission(spec, path, options=options)
    problem = judge(spec, result)
    return Check(name, not problem, problem or f"{result.points:g}/{result.max_points:g}")


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


def _sample(spec: Assignment, folder: Path, options: Options) -> Check:
    expected = load_expectation(folder)
    if expected.cell_timeout is not None:
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
    result = grade_submission(spec, folder, options=options)
    problems = mismatches(result, expected)
    summary = f"{result.status.value}, {result.points:g}/{result.max_points:g}"
    return Check(f"sample '{folder.name}'", not problems, "; ".join(problems) or summary)
