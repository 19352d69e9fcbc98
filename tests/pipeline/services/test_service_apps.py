"""Apps started for real, graded through the tiny_app fixture assignment: local processes
always, Docker containers when an engine is there (marker ``docker``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from grader.core.results import Status
from grader.core.spec import Assignment
from grader.pipeline.grading import Options, grade_submission
from grader.pipeline.services.choose import services_for
from grader.pipeline.services.docker import DockerServices
from grader.sandbox.docker import LABEL, DockerSandbox
from grader.sandbox.local import LocalSandbox

Make = Callable[[str], Path]


@pytest.mark.parametrize(
    ("app", "status", "points"),
    [
        ("echo_ok", Status.GRADED, 4),
        ("crash_on_start", Status.CRASHED, 0),
        ("never_listens", Status.TIMEOUT, 0),
    ],
)
def test_local_apps_get_their_verdict(
    tiny_app: Assignment, submission: Make, app: str, status: Status, points: float
) -> None:
    result = grade_submission(tiny_app, submission(app), options=Options(sandbox=LocalSandbox()))
    assert (result.status, result.points) == (status, points), result.message


def test_crash_message_shows_the_apps_error(tiny_app: Assignment, submission: Make) -> None:
    result = grade_submission(
        tiny_app, submission("crash_on_start"), options=Options(sandbox=LocalSandbox())
    )
    assert "FileNotFoundError: weights/model.pt" in result.message


def test_services_follow_the_sandbox() -> None:
    assert services_for(LocalSandbox()).name == "local"
    assert isinstance(services_for(DockerSandbox(client=object())), DockerServices)


@pytest.fixture
def docker_sandbox(docker_engine: Any) -> DockerSandbox:
    return DockerSandbox(client=docker_engine)


@pytest.mark.docker
@pytest.mark.parametrize(
    ("app", "status", "points"),
    [
        ("echo_ok", Status.GRADED, 4),
        ("crash_on_start", Status.CRASHED, 0),
        ("downloads_at_start", Status.NETWORK_ACCESS, 0),
        ("wrong_port", Status.TIMEOUT, 0),
    ],
)
def test_docker_apps_get_their_verdict(
    tiny_app: Assignment,
    submission: Make,
    docker_sandbox: DockerSandbox,
    app: str,
    status: Status,
    points: float,
) -> None:
    result = grade_submission(tiny_app, submission(app), options=Options(sandbox=docker_sandbox))
    assert (result.status, result.points) == (status, points), result.message
    if status is Status.NETWORK_ACCESS:
        assert "huggingface.co:443" in result.message


@pytest.mark.docker
def test_docker_app_is_locked_down_and_removed(
    tiny_app: Assignment, submission: Make, docker_engine: Any
) -> None:
    """Only loopback inside, not root, read-only root; the container is gone afterwards."""
    from grader.pipeline.services.fixtures import App
    from grader.pipeline.services.grading import app_request
    from grader.pipeline.services.ready import Start, wait_ready

    host = DockerServices(client=docker_engine)
    folder = submission("echo_ok")
    assert tiny_app.service is not None
    request = app_request(tiny_app, tiny_app.service, folder, host, label="locked")
    with host.service(request) as running:
        assert wait_ready(running, path="/", timeout=30).state is Start.READY
        app = App(running, host=host, request=request, request_timeout=10)
        facts = app.get("/env").json()
        app.close()
        name = running.container.name
    assert facts["interfaces"] == ["lo"]
    assert facts["uid"] != 0
    assert facts["root_writable"] is False
    assert facts["files"] == ["app.py"]
    if os.geteuid() == 0:  # the socket folder was sealed before any app code ran
        assert facts["socket_dir_writable_at_start"] is False
    left = docker_engine.containers.list(all=True, filters={"label": LABEL})
    assert name not in {c.name for c in left}


@pytest.mark.docker
def test_batch_grades_apps_in_parallel(
    tiny_app: Assignment, submission: Make, docker_engine: Any, tmp_path: Path
) -> None:
    """`grade batch` on a class of apps: two workers, each app its own container."""
    from grader.batch.runner import BatchOptions, run_batch
    from grader.core.results import GradeResult
    from grader.sandbox.choose import Backend

    klass = tmp_path / "class"
    klass.mkdir()
    for student, app in (("ann", "echo_ok"), ("bob", "crash_on_start"), ("cid", "echo_ok")):
        submission(app).rename(klass / student)
    out = tmp_path / "out"
    options = BatchOptions(backend=Backend.DOCKER, jobs=2)
    summary = run_batch(tiny_app, klass, out=out, options=options)
    assert (summary.total, summary.workers) == (3, 2)
    results = {p.parent.name: GradeResult.read(p) for p in out.rglob("result.json")}
    assert {s: (r.status, r.points) for s, r in results.items()} == {
        "ann": (Status.GRADED, 4),
        "bob": (Status.CRASHED, 0),
        "cid": (Status.GRADED, 4),
    }
