"""The verdict: the one set of rules that turns what the stages found into a status and a
sentence, and the one place a :class:`~grader.core.results.GradeResult` is built.

Every result, whoever makes it (the pipeline, a batch worker, the batch parent for a duplicate
or a dead worker), goes through :func:`decide` and :func:`build_result`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from grader.core.lang import Language
from grader.core.messages import Apps
from grader.core.messages import Verdicts as V
from grader.core.outcomes import (
    AppStart,
    GraderFailed,
    Interrupted,
    Refused,
    RunOutcome,
    StaticOutcome,
    Stop,
    TestsOutcome,
    Unusable,
)
from grader.core.results import (
    AnswerResult,
    ComponentScore,
    GradeResult,
    MetricResult,
    Status,
    TestResult,
    Timings,
)
from grader.core.spec import Assignment

_REFUSED = {
    Unusable.NOT_FOUND: Status.NOT_FOUND,
    Unusable.INVALID_NOTEBOOK: Status.INVALID_NOTEBOOK,
    Unusable.DUPLICATE: Status.DUPLICATE,
}
_STOPPED = {
    Stop.CELL_TIME_LIMIT: Status.TIMEOUT,
    Stop.TOTAL_TIME_LIMIT: Status.TIMEOUT,
    Stop.KERNEL_DIED: Status.CRASHED,
    Stop.OUT_OF_MEMORY: Status.OUT_OF_MEMORY,
    Stop.PROTOCOL_BROKEN: Status.CRASHED,
}


@dataclass(frozen=True)
class Findings:
    """What the stages found, in pipeline order; a stage that did not run is None."""

    refused: Refused | None = None
    interrupted: Interrupted | None = None
    failed: GraderFailed | None = None
    static: StaticOutcome | None = None
    run: RunOutcome | None = None
    tests: TestsOutcome | None = None


@dataclass(frozen=True)
class Verdict:
    status: Status
    message: str
    forfeit: bool = False
    """The points the tests gave are not kept (a forbidden import got past the static check)."""


def decide(found: Findings, lang: Language) -> Verdict:
    """The status and sentence for what was found; the first rule that applies wins."""
    if found.interrupted is not None:
        return Verdict(Status.INTERRUPTED, found.interrupted.said(lang))
    if found.failed is not None:
        return Verdict(Status.GRADER_ERROR, found.failed.said(lang))
    if found.refused is not None:
        return Verdict(_REFUSED[found.refused.reason], found.refused.said(lang))
    static = found.static or StaticOutcome()
    if static.forbidden:
        return Verdict(Status.FORBIDDEN_IMPORT, _forbidden(static.forbidden, lang), forfeit=True)
    run = found.run or RunOutcome()
    blocked = run.blocked_import
    if blocked is not None:
        message = V.forbidden_runtime(lang, cell=blocked.index + 1, error=blocked.evalue)
        return Verdict(Status.FORBIDDEN_IMPORT, message, forfeit=True)
    if run.stop is not None:
        return Verdict(_STOPPED[run.stop], _stopped(run, lang))
    if found.tests is not None and found.tests.unreachable:
        return Verdict(Status.CRASHED, V.unreachable(lang, detail=found.tests.unreachable))
    return _ran(static, run, lang)


def _ran(static: StaticOutcome, run: RunOutcome, lang: Language) -> Verdict:
    """The notebook ran to its end: missing names or cell errors, or plainly graded."""
    if static.missing and static.syntax_errors:  # the syntax error is the cause: name it
        where = "; ".join(
            V.syntax_where(lang, cell=i + 1, error=msg)
            for i, msg in sorted(static.syntax_errors.items())
        )
        names = ", ".join(static.missing)
        return Verdict(Status.GRADED, V.syntax_left_missing(lang, where=where, names=names))
    if static.missing:
        defined = ", ".join(static.defined[:30]) or V.nothing(lang)
        message = V.missing_names(lang, names=", ".join(static.missing), defined=defined)
        return Verdict(Status.MISSING_NAMES, message)
    if run.cell_errors:
        return Verdict(Status.GRADED, V.graded_with_errors(lang, count=len(run.cell_errors)))
    return Verdict(Status.GRADED, V.graded(lang))


def _forbidden(banned: Mapping[str, int], lang: Language) -> str:
    parts = ", ".join(
        V.forbidden_import_at(lang, module=m, cell=cell + 1) for m, cell in sorted(banned.items())
    )
    return V.forbidden_static(lang, imports=parts)


def _stopped(run: RunOutcome, lang: Language) -> str:
    cell = {"cell": (run.cell or 0) + 1, "head": run.cell_head}
    if run.stop is Stop.TOTAL_TIME_LIMIT:
        return V.total_time_limit(lang, seconds=run.seconds_limit)
    if run.cell is None:  # the grader's setup code was running
        if run.stop is Stop.CELL_TIME_LIMIT:
            return V.setup_time_limit(lang, seconds=run.seconds_limit)
        if run.stop is Stop.PROTOCOL_BROKEN:
            return V.setup_broken(lang, detail=run.detail)
        return V.setup_died(lang)
    if run.stop is Stop.CELL_TIME_LIMIT:
        return V.cell_time_limit(lang, seconds=run.seconds_limit, **cell)
    if run.stop is Stop.OUT_OF_MEMORY:
        return V.out_of_memory(lang, **cell)
    if run.stop is Stop.PROTOCOL_BROKEN:
        return V.protocol_broken(lang, detail=run.detail, **cell)
    return V.kernel_died(lang, **cell)


@dataclass(frozen=True)
class Score:
    """What the test and scoring stages gave, before the verdict and the late policy."""

    tests: Sequence[TestResult] = ()
    metrics: Sequence[MetricResult] = ()
    answers: Sequence[AnswerResult] = ()
    components: Sequence[ComponentScore] = ()
    hidden_not_run: int = 0
    hidden_points_pending: Mapping[str, float] = field(default_factory=dict)


def app_started(start: AppStart, lang: Language) -> Verdict:
    """The status and sentence for how a web app's start ended (graded when it answered)."""
    if start.ready:
        return Verdict(Status.GRADED, V.graded(lang))
    shown = Apps.last_output(lang, tail=start.log_tail) if start.log_tail else ""
    if start.egress:
        where = ", ".join(start.egress[:3])
        return Verdict(Status.NETWORK_ACCESS, Apps.network(lang, where=where, shown=shown))
    if start.out_of_memory:
        return Verdict(Status.OUT_OF_MEMORY, Apps.out_of_memory(lang))
    if start.exited:
        return Verdict(Status.CRASHED, Apps.exited(lang, code=start.exit_code, shown=shown))
    message = Apps.no_answer(lang, port=start.port, timeout=start.timeout, shown=shown)
    return Verdict(Status.TIMEOUT, message)


def build_result(
    spec: Assignment,
    *,
    submission: str,
    verdict: Verdict,
    hidden: bool,
    sha256: str = "",
    score: Score | None = None,
    run: RunOutcome | None = None,
    submitted_at: datetime | None = None,
    artifacts: Sequence[str] = (),
    timings: Timings | None = None,
    versions: Mapping[str, str] | None = None,
) -> GradeResult:
    """The result: points after the verdict (a forfeit keeps none) and the late policy."""
    score = score or Score()
    components = list(score.components)
    if verdict.forfeit:
        components = [c.model_copy(update={"points": 0.0}) for c in components]
    earned = round(sum(c.points for c in components), 4)
    penalty = round(min(earned, spec.late.fraction(submitted_at) * spec.max_points), 4)
    return GradeResult(
        assignment=spec.id,
        assignment_version=spec.version,
        language=spec.language,
        submission=submission,
        notebook_sha256=sha256,
        status=verdict.status,
        message=verdict.message,
        points=round(max(0.0, earned - penalty), 4),
        max_points=sum(c.max_points for c in components) if components else spec.max_points,
        late_penalty=penalty,
        components=components,
        tests=list(score.tests),
        metrics=list(score.metrics),
        answers=list(score.answers),
        cell_errors=list(run.cell_errors) if run is not None else [],
        artifacts=list(artifacts),
        hidden_included=hidden,
        hidden_not_run=score.hidden_not_run,
        hidden_points_pending=dict(score.hidden_points_pending),
        timings=timings or Timings(),
        versions=dict(versions or {}),
    )
