"""Grade one submission: intake → static checks → execute → tests → score → GradeResult."""

from __future__ import annotations

import platform
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from grader import __version__, scoring, static, workdir
from grader.answers import read_answers
from grader.bridge import Bridge
from grader.errors import BridgeError, SandboxError, SubmissionError
from grader.execute import CellHook, Execution, preamble, run_notebook
from grader.intake import Submission, intake
from grader.results import GradeResult, Status, Timings
from grader.sandbox.base import KernelRequest, Mount, Sandbox
from grader.spec import Assignment
from grader.testing.plugin import GraderPlugin
from grader.testing.run import run_tests


@dataclass(frozen=True)
class Options:
    """How to grade: which sandbox, hidden tests or not, GPUs, submission time."""

    sandbox: Sandbox
    hidden: bool = True
    gpus: tuple[str, ...] = ()
    submitted_at: datetime | None = None
    on_cell: CellHook | None = None
    artifacts: Path | None = None
    """Folder where tests may leave pictures for the feedback; None = discard them."""


def grade_submission(spec: Assignment, path: Path, *, options: Options) -> GradeResult:
    """Grade the notebook (file, folder or zip) at ``path``; never raises for bad input."""
    if spec.service is not None:  # a web app: started and tested over HTTP
        from grader.services.grading import grade_app

        return grade_app(spec, path, options=options)
    started = time.monotonic()
    base = _Base(spec, path, options)
    with tempfile.TemporaryDirectory(prefix="grader-") as tmp:
        try:
            sub = intake(path, preferred=spec.notebook, scratch=Path(tmp))
        except SubmissionError as exc:
            return base.refused(Status(exc.status), str(exc), started)
        return base.graded(sub, Path(tmp), started)


def unfinished(
    spec: Assignment, path: Path, *, status: Status, message: str, hidden: bool
) -> GradeResult:
    """The result of a grading that did not finish (interrupted, stopped past its limit)."""
    return _refused(spec, path, hidden, status, message, 0.0)


def _refused(
    spec: Assignment,
    path: Path,
    hidden: bool,
    status: Status,
    message: str,
    seconds: float,
    sha: str = "",
) -> GradeResult:
    return GradeResult(
        assignment=spec.id,
        assignment_version=spec.version,
        submission=str(path),
        notebook_sha256=sha,
        status=status,
        message=message,
        max_points=spec.max_points,
        hidden_included=hidden,
        timings=Timings(total_s=seconds),
        versions=versions(),
    )


class _Base:
    def __init__(self, spec: Assignment, path: Path, options: Options) -> None:
        self.spec, self.path, self.options = spec, path, options

    def refused(self, status: Status, message: str, started: float, sha: str = "") -> GradeResult:
        seconds = time.monotonic() - started
        return _refused(self.spec, self.path, self.options.hidden, status, message, seconds, sha)

    def graded(self, sub: Submission, scratch: Path, started: float) -> GradeResult:
        facts = static.analyse(sub.nb)
        banned = static.forbidden(facts, self.spec.names)
        if banned:
            return self.refused(Status.FORBIDDEN_IMPORT, _banned_msg(banned), started, sub.sha256)
        answers = read_answers(sub.nb, self.spec.questions)
        intake_s = time.monotonic() - started
        request = self._request(workdir.prepare(sub, scratch, notebook_name=self.spec.notebook))
        setup = preamble(self.spec.seed, set(facts.imports), self.spec.names.forbidden_imports)
        try:
            with run_notebook(
                sub.nb,
                sandbox=self.options.sandbox,
                request=request,
                setup_code=setup,
                on_cell=self.options.on_cell,
            ) as ex:
                tests_started = time.monotonic()
                plugin, unreachable = self._tests(ex, {a.id: a.text for a in answers if a.answered})
        except SandboxError as exc:
            return self.refused(Status.GRADER_ERROR, str(exc), started, sub.sha256)
        tests = [scoring.test_result(r) for r in plugin.tests.values()]
        answer_results = scoring.answer_results(self.spec, answers)
        comps = scoring.components(self.spec, tests, answer_results)
        status, message = _verdict(
            ex,
            static.missing(facts, self.spec.names),
            static.user_names(facts),
            facts.syntax_errors,
        )
        if status is Status.FORBIDDEN_IMPORT:  # same rule as the static check: no points
            comps = [c.model_copy(update={"points": 0.0}) for c in comps]
        earned = round(sum(c.points for c in comps), 4)
        penalty = scoring.late_penalty(self.spec, earned, self.options.submitted_at)
        if unreachable and status is Status.GRADED:
            status, message = Status.CRASHED, unreachable
        now = time.monotonic()
        return GradeResult(
            assignment=self.spec.id,
            assignment_version=self.spec.version,
            submission=str(self.path),
            notebook_sha256=sub.sha256,
            status=status,
            message=message,
            points=round(max(0.0, earned - penalty), 4),
            max_points=sum(c.max_points for c in comps),
            late_penalty=penalty,
            components=comps,
            tests=tests,
            answers=answer_results,
            cell_errors=ex.cell_errors,
            artifacts=_artifacts(self.options.artifacts),
            hidden_included=self.options.hidden,
            hidden_not_run=len(plugin.pending),
            hidden_points_pending=scoring.points_by_component(plugin.pending),
            timings=Timings(
                intake_s=intake_s,
                execute_s=ex.seconds,
                tests_s=now - tests_started,
                total_s=now - started,
            ),
            versions=versions(),
        )

    def _request(self, work: Path) -> KernelRequest:
        public = self.spec.path(self.spec.data.public)
        mounts = (Mount(public, "data"),) if public.is_dir() else ()
        gpus = self.options.gpus if self.spec.resources.gpu != "none" else ()
        return KernelRequest(
            workdir=work,
            limits=self.spec.resources,
            mounts=mounts,
            gpus=gpus,
            label=self.path.stem[:60],
            hidden_modules=tuple(self.spec.names.forbidden_imports),
        )

    def _tests(self, ex: Execution, answers: dict[str, str]) -> tuple[GraderPlugin, str]:
        """Run the tests; also say why the kernel could not be reached, if it could not."""
        bridge, unreachable = None, ""
        if ex.usable:
            bridge = Bridge(
                ex.km, aliases=self.spec.names.aliases, timeout=self.spec.resources.cell_timeout
            )
            try:
                bridge.start()
            except (BridgeError, RuntimeError, TimeoutError) as exc:  # start closed it
                bridge, unreachable = None, _unreachable_msg(exc)
        try:
            plugin = run_tests(
                self.spec,
                bridge=bridge,
                hidden=self.options.hidden,
                answers=answers,
                artifacts=self.options.artifacts,
            )
        finally:
            if bridge is not None:
                bridge.close()
        return plugin, unreachable


def _artifacts(folder: Path | None) -> list[str]:
    if folder is None or not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.is_symlink())


def _unreachable_msg(exc: Exception) -> str:
    detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return (
        "the notebook ran, but then its kernel stopped answering the grader, so nothing "
        f"could be tested ({detail}); did it close, block or break the kernel's channels?"
    )


def _banned_msg(banned: dict[str, int]) -> str:
    parts = ", ".join(f"'{m}' (cell {cell + 1})" for m, cell in sorted(banned.items()))
    return (
        f"the notebook imports {parts}, which this assignment forbids; "
        "remove those imports and solve it with the allowed libraries"
    )


def _verdict(
    ex: Execution, missing: Sequence[str], defined: Sequence[str], syntax: dict[int, str]
) -> tuple[Status, str]:
    if ex.status is Status.FORBIDDEN_IMPORT:
        blocked = next(e for e in ex.cell_errors if e.ename == "ForbiddenImportError")
        return ex.status, f"cell {blocked.index + 1}: {blocked.evalue}"
    if not ex.usable:
        return ex.status, ex.message
    if missing and syntax:  # the syntax error is the cause: name it
        where = "; ".join(f"cell {i + 1}, {msg}" for i, msg in sorted(syntax.items()))
        return Status.GRADED, (
            f"graded; a syntax error ({where}) left {', '.join(missing)} undefined: "
            "fix it and run the notebook from the top"
        )
    if missing:
        shown = ", ".join(defined[:30]) or "nothing"
        return Status.MISSING_NAMES, (
            f"the notebook does not define {', '.join(missing)} (it defines: {shown}); "
            "check the names against the template"
        )
    if ex.cell_errors:
        return Status.GRADED, f"graded; {len(ex.cell_errors)} cell(s) raised errors (see below)"
    return Status.GRADED, "graded"


def versions() -> dict[str, str]:
    import nbclient
    import numpy

    return {
        "grader": __version__,
        "python": platform.python_version(),
        "nbclient": nbclient.__version__,
        "numpy": numpy.__version__,
    }
