"""Grade one submission: intake → static checks → execute → tests → score → verdict.

Each stage reports a typed outcome; :func:`grader.core.verdict.decide` turns them into the
status and sentence, and :func:`grader.core.verdict.build_result` builds the result.
"""

from __future__ import annotations

import platform
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from grader.core.errors import BridgeError, SandboxError
from grader.core.lang import Said
from grader.core.messages import Verdicts
from grader.core.outcomes import GraderFailed, Interrupted, Refused, TestsOutcome
from grader.core.results import GradeResult, Timings
from grader.core.spec import Assignment
from grader.core.verdict import Findings, Score, Verdict, build_result, decide
from grader.core.version import version
from grader.pipeline import scoring, static, workdir
from grader.pipeline.answers import read_answers
from grader.pipeline.bridge import Bridge
from grader.pipeline.evaluators import Evaluators
from grader.pipeline.execute import CellHook, Execution, preamble, run_notebook
from grader.pipeline.intake import Submission, intake
from grader.pipeline.testrun.plugin import GraderPlugin
from grader.pipeline.testrun.run import run_tests
from grader.sandbox import scratch
from grader.sandbox.base import KernelRequest, Mount, Sandbox


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
    evaluators: Evaluators | None = None
    """The assignment's evaluators, kept by the caller across submissions (a batch worker
    keeps one for its life); None = built for this submission alone."""


def unfinished(
    spec: Assignment, path: Path, found: Interrupted | GraderFailed, *, hidden: bool
) -> GradeResult:
    """The result of a grading that did not finish (interrupted, stopped past its limit)."""
    findings = (
        Findings(interrupted=found) if isinstance(found, Interrupted) else Findings(failed=found)
    )
    verdict = decide(findings, spec.language)
    return build_result(
        spec, submission=str(path), verdict=verdict, hidden=hidden, versions=versions()
    )


def grade_submission(spec: Assignment, path: Path, *, options: Options) -> GradeResult:
    """Grade the notebook (file, folder or zip) at ``path``; never raises for bad input.

    A broken assignment (tests that cannot be collected, an evaluator that cannot be built)
    raises :class:`~grader.core.errors.GraderError`: it is not the submission's fault."""
    if spec.service is not None:  # a web app: started and tested over HTTP
        from grader.pipeline.services.grading import grade_app

        return grade_app(spec, path, options=options)
    with tempfile.TemporaryDirectory(prefix=scratch.prefix("grade")) as tmp:
        return _Grading(spec, path, options).run(Path(tmp))


class _Grading:
    def __init__(self, spec: Assignment, path: Path, options: Options) -> None:
        self.spec, self.path, self.options = spec, path, options
        self.started = time.monotonic()

    def run(self, scratch: Path) -> GradeResult:
        sub = intake(self.path, preferred=self.spec.notebook, scratch=scratch)
        if isinstance(sub, Refused):
            return self._result(Findings(refused=sub))
        facts = static.analyse(sub.nb)
        found = static.outcome(facts, self.spec.names)
        if found.forbidden:
            return self._result(Findings(static=found), sha256=sub.sha256)
        evaluators = (self.options.evaluators or Evaluators(self.spec)).build_all()
        answers = read_answers(sub.nb, self.spec.questions)
        intake_s = time.monotonic() - self.started
        request = self._request(workdir.prepare(sub, scratch, notebook_name=self.spec.notebook))
        imports = set(facts.imports)
        setup = preamble(
            self.spec.seed, imports, self.spec.names.forbidden_imports, self.spec.language
        )
        try:
            with run_notebook(
                sub.nb,
                sandbox=self.options.sandbox,
                request=request,
                setup_code=setup,
                on_cell=self.options.on_cell,
            ) as ex:
                tests_started = time.monotonic()
                texts = {a.id: a.text for a in answers if a.answered}
                plugin, tests = self._tests(ex, texts, evaluators)
        except SandboxError as exc:
            failed = GraderFailed(Said.of(Verdicts.sandbox_failed, detail=str(exc)))
            return self._result(Findings(failed=failed), sha256=sub.sha256)
        verdict = decide(Findings(static=found, run=ex.outcome, tests=tests), self.spec.language)
        now = time.monotonic()
        timings = Timings(
            intake_s=intake_s,
            execute_s=ex.outcome.seconds,
            tests_s=now - tests_started,
            total_s=now - self.started,
        )
        score = scoring.score(self.spec, plugin, answers)
        return self._result(verdict, sub, score, ex, timings)

    def _result(
        self,
        found: Findings | Verdict,
        sub: Submission | None = None,
        score: Score | None = None,
        ex: Execution | None = None,
        timings: Timings | None = None,
        *,
        sha256: str = "",
    ) -> GradeResult:
        verdict = found if isinstance(found, Verdict) else decide(found, self.spec.language)
        return build_result(
            self.spec,
            submission=str(self.path),
            verdict=verdict,
            hidden=self.options.hidden,
            sha256=sub.sha256 if sub is not None else sha256,
            score=score,
            run=ex.outcome if ex is not None else None,
            submitted_at=self.options.submitted_at,
            artifacts=_artifacts(self.options.artifacts) if ex is not None else (),
            timings=timings or Timings(total_s=time.monotonic() - self.started),
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

    def _tests(
        self, ex: Execution, answers: dict[str, str], evaluators: Mapping[str, object]
    ) -> tuple[GraderPlugin, TestsOutcome]:
        """Run the tests; also say why the kernel could not be reached, if it could not."""
        bridge, unreachable = None, ""
        if ex.usable:
            bridge = Bridge(
                ex.kernel.manager,
                aliases=self.spec.names.aliases,
                timeout=self.spec.resources.cell_timeout,
            )
            try:
                bridge.start()
            except (BridgeError, RuntimeError, TimeoutError) as exc:  # start closed it
                bridge, unreachable = None, _first_line(exc)
        try:
            plugin = run_tests(
                self.spec,
                bridge=bridge,
                hidden=self.options.hidden,
                answers=answers,
                artifacts=self.options.artifacts,
                evaluators=evaluators,
            )
        finally:
            if bridge is not None:
                bridge.close()
        return plugin, TestsOutcome(unreachable=unreachable)


def _artifacts(folder: Path | None) -> list[str]:
    if folder is None or not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.is_symlink())


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def versions() -> dict[str, str]:
    import nbclient
    import numpy

    return {
        "grader": version(),
        "python": platform.python_version(),
        "nbclient": nbclient.__version__,
        "numpy": numpy.__version__,
    }
