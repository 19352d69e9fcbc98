"""Grade one web-app submission: intake → start the app in a sandbox → wait until it answers
→ the assignment's tests over HTTP and in a browser → score. Never raises for bad input."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from grader import scoring
from grader.errors import SandboxError, SubmissionError
from grader.grading import Options, _Base, versions
from grader.results import GradeResult, Status, Timings
from grader.services.base import ServiceHost, ServiceRequest
from grader.services.choose import app_image, services_for
from grader.services.fixtures import App, AppPlugin, Clock
from grader.services.intake import intake_app
from grader.services.ready import Start, verdict, wait_ready
from grader.spec import Assignment, Service
from grader.testing.plugin import GraderPlugin
from grader.testing.run import run_tests


def grade_app(
    spec: Assignment, path: Path, *, options: Options, clock: Clock | None = None
) -> GradeResult:
    """Grade the app (folder, zip, .py or notebook) at ``path`` with ``spec.service``."""
    assert spec.service is not None
    started = time.monotonic()
    base = _Base(spec, path, options)
    with tempfile.TemporaryDirectory(prefix="grader-") as tmp:
        try:
            work, sha = intake_app(path, spec.service, Path(tmp))
        except SubmissionError as exc:
            return base.refused(Status(exc.status), str(exc), started)
        host = services_for(options.sandbox)
        request = app_request(spec, spec.service, work, host, label=path.stem[:60])
        try:
            return _run(spec, request, host, base, options, sha, started, clock or Clock())
        except SandboxError as exc:
            return base.refused(Status.GRADER_ERROR, str(exc), started, sha)


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
    base: _Base,
    options: Options,
    sha: str,
    started: float,
    clock: Clock,
) -> GradeResult:
    service_spec = spec.service
    assert service_spec is not None
    intake_s = time.monotonic() - started
    with host.service(request) as running:
        start = wait_ready(
            running, path=service_spec.ready_path, timeout=service_spec.start_timeout
        )
        status, message = verdict(start, port=request.port, timeout=service_spec.start_timeout)
        if start.state is not Start.READY:
            return base.refused(status, message, started, sha)
        app = App(
            running,
            host=host,
            request=request,
            request_timeout=service_spec.request_timeout,
            clock=clock,
            start_timeout=service_spec.start_timeout,
            budget=spec.resources.total_timeout,
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
        if not app.alive():
            status, message = Status.GRADED, "graded; the app stopped while it was tested"
    now = time.monotonic()
    return _graded(
        spec,
        base,
        plugin,
        status,
        message,
        sha,
        Timings(
            intake_s=intake_s,
            execute_s=start.seconds,
            tests_s=now - tests_started,
            total_s=now - started,
        ),
    )


def _graded(
    spec: Assignment,
    base: _Base,
    plugin: GraderPlugin,
    status: Status,
    message: str,
    sha: str,
    timings: Timings,
) -> GradeResult:
    tests = [scoring.test_result(r) for r in plugin.tests.values()]
    comps = scoring.components(spec, tests, [])
    earned = round(sum(c.points for c in comps), 4)
    penalty = scoring.late_penalty(spec, earned, base.options.submitted_at)
    return GradeResult(
        assignment=spec.id,
        assignment_version=spec.version,
        submission=str(base.path),
        notebook_sha256=sha,
        status=status,
        message=message,
        points=round(max(0.0, earned - penalty), 4),
        max_points=sum(c.max_points for c in comps),
        late_penalty=penalty,
        components=comps,
        tests=tests,
        artifacts=_artifacts(base.options.artifacts),
        hidden_included=base.options.hidden,
        hidden_not_run=len(plugin.pending),
        hidden_points_pending=scoring.points_by_component(plugin.pending),
        timings=timings,
        versions=versions(),
    )


def _artifacts(folder: Path | None) -> list[str]:
    if folder is None or not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.is_symlink())
