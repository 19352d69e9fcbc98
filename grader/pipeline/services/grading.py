"""Grade one web-app submission: intake → start the app in a sandbox → wait until it answers
→ the assignment's tests over HTTP and in a browser → score. Never raises for bad input.

Results are built by :func:`grader.core.verdict.build_result`, as for notebooks; how an app
started is judged by ``core.verdict.app_started``."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from grader.core.errors import SandboxError, SubmissionError
from grader.core.lang import Said
from grader.core.messages import Apps, Verdicts
from grader.core.outcomes import GraderFailed
from grader.core.results import GradeResult, Status, Timings
from grader.core.spec import Assignment, Service
from grader.core.verdict import Findings, Score, Verdict, app_started, build_result, decide
from grader.pipeline import scoring
from grader.pipeline.grading import Options, versions
from grader.pipeline.services.base import ServiceHost, ServiceRequest
from grader.pipeline.services.choose import app_image, services_for
from grader.pipeline.services.fixtures import App, AppPlugin, Clock
from grader.pipeline.services.intake import intake_app
from grader.pipeline.services.ready import Start, outcome, wait_ready
from grader.pipeline.testrun.run import run_tests
from grader.sandbox import scratch


def grade_app(
    spec: Assignment, path: Path, *, options: Options, clock: Clock | None = None
) -> GradeResult:
    """Grade the app (folder, zip, .py or notebook) at ``path`` with ``spec.service``."""
    assert spec.service is not None
    started = time.monotonic()
    base = _Result(spec, path, options, started)
    with tempfile.TemporaryDirectory(prefix=scratch.prefix("app")) as tmp:
        try:
            work, sha = intake_app(path, spec.service, Path(tmp))
        except SubmissionError as exc:
            return base(decide(Findings(refused=exc.refused), spec.language))
        host = services_for(options.sandbox)
        request = app_request(spec, spec.service, work, host, label=path.stem[:60])
        try:
            return _run(spec, request, host, base, options, sha, clock or Clock())
        except SandboxError as exc:
            failed = GraderFailed(Said.of(Verdicts.sandbox_failed, detail=str(exc)))
            return base(decide(Findings(failed=failed), spec.language), sha)


class _Result:
    """Builds this submission's result (through ``build_result``) from a verdict."""

    def __init__(self, spec: Assignment, path: Path, options: Options, started: float) -> None:
        self.spec, self.path, self.options, self.started = spec, path, options, started

    def __call__(
        self,
        verdict: Verdict,
        sha: str = "",
        score: Score | None = None,
        timings: Timings | None = None,
    ) -> GradeResult:
        return build_result(
            self.spec,
            submission=str(self.path),
            verdict=verdict,
            hidden=self.options.hidden,
            sha256=sha,
            score=score,
            submitted_at=self.options.submitted_at,
            artifacts=_artifacts(self.options.artifacts) if score is not None else (),
            timings=timings or Timings(total_s=time.monotonic() - self.started),
            versions=versions(),
        )


def app_request(
    spec: Assignment, service: Service, work: Path, host: ServiceHost, *, label: str
) -> ServiceRequest:
    return ServiceRequest(
        workdir=work,
        command=tuple(service.command),
        port=service.port,
        limits=spec.resources,
        image=app_image(spec) if host.name == "docker" else None,
        env={**_models_env(spec, host), **service.env},
        label=label,
    )


def _models_env(spec: Assignment, host: ServiceHost) -> dict[str, str]:
    """Where the course's weights are: in the image (Docker), in the assignment (local)."""
    if spec.service is None or not spec.service.image:
        return {}
    if host.name == "docker":
        return {"MODELS_DIR": "/opt/models"}
    return {"MODELS_DIR": str(spec.path(spec.service.image) / "models")}


def _run(
    spec: Assignment,
    request: ServiceRequest,
    host: ServiceHost,
    result: _Result,
    options: Options,
    sha: str,
    clock: Clock,
) -> GradeResult:
    service_spec = spec.service
    assert service_spec is not None
    intake_s = time.monotonic() - result.started
    with host.service(request) as running:
        start = wait_ready(
            running, path=service_spec.ready_path, timeout=service_spec.start_timeout
        )
        if start.state is not Start.READY:
            found = outcome(start, port=request.port, timeout=service_spec.start_timeout)
            return result(app_started(found, spec.language), sha)
        app = App(
            running,
            host=host,
            request=request,
            request_timeout=service_spec.request_timeout,
            clock=clock,
            start_timeout=service_spec.start_timeout,
            budget=spec.resources.total_timeout,
            language=spec.language,
        )
        tests_started = time.monotonic()
        try:
            plugin = run_tests(
                spec,
                bridge=None,
                hidden=options.hidden,
                artifacts=options.artifacts,
                plugins=[AppPlugin(app)],
            )
        finally:
            app.close()
        said = Verdicts.graded if app.alive() else Apps.stopped_while_tested
    now = time.monotonic()
    timings = Timings(
        intake_s=intake_s,
        execute_s=start.seconds,
        tests_s=now - tests_started,
        total_s=now - result.started,
    )
    score = scoring.score(spec, plugin, [])
    return result(Verdict(Status.GRADED, said(spec.language)), sha, score, timings)


def _artifacts(folder: Path | None) -> list[str]:
    if folder is None or not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.is_symlink())
