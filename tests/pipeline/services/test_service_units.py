"""The service seam without any app running: verdicts, configuration, intake, helpers."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.core.errors import SubmissionError
from grader.core.outcomes import Unusable
from grader.core.results import Status
from grader.core.spec import Resources, Service
from grader.core.verdict import app_started
from grader.pipeline.services.base import (
    EGRESS_MARK,
    INSIDE,
    ServiceExit,
    ServiceRequest,
    egress_attempts,
)
from grader.pipeline.services.docker import SOCKET_DIR, service_config
from grader.pipeline.services.intake import intake_app
from grader.pipeline.services.own_image import ImageRefused, check_dockerfile
from grader.pipeline.services.proxy import loopback_proxy
from grader.pipeline.services.ready import Start, Started, outcome
from grader.sandbox.docker.container import locked_down


def test_egress_lines_are_read_from_the_log_once_each() -> None:
    line = f"{EGRESS_MARK}huggingface.co:443\n"
    log = f"hello\n{line}x {EGRESS_MARK}not at the start of a line\n{line}"
    assert egress_attempts(log) == ["huggingface.co:443"]


@pytest.mark.parametrize(
    ("start", "status"),
    [
        (Started(Start.READY, 1.0), Status.GRADED),
        (Started(Start.EXITED, 1.0, ServiceExit(1)), Status.CRASHED),
        (Started(Start.EXITED, 1.0, ServiceExit(137, out_of_memory=True)), Status.OUT_OF_MEMORY),
        (Started(Start.TIMEOUT, 9.0), Status.TIMEOUT),
        (Started(Start.EXITED, 1.0, ServiceExit(1), egress=["a.b:443"]), Status.NETWORK_ACCESS),
        (Started(Start.TIMEOUT, 9.0, egress=["a.b:443"]), Status.NETWORK_ACCESS),
    ],
)
def test_one_verdict_per_way_of_starting(start: Started, status: Status) -> None:
    found = outcome(start, port=7860, timeout=9)
    for lang in ("en", "ru"):
        verdict = app_started(found, lang)
        assert verdict.status is status
        assert verdict.message


def test_network_verdict_says_where_weights_belong() -> None:
    start = Started(Start.EXITED, 1.0, ServiceExit(1), egress=["huggingface.co:443"])
    message = app_started(outcome(start, port=7860, timeout=9), "en").message
    assert "huggingface.co:443" in message
    assert "weights must be in the submission or the image" in message


def test_a_failed_start_is_said_in_the_course_language() -> None:
    tail = "Traceback {not a field}\nValueError: boom"
    start = Started(Start.EXITED, 1.0, ServiceExit(1), log_tail=tail)
    message = app_started(outcome(start, port=7860, timeout=9), "ru").message
    assert message.startswith("приложение завершилось (код 1), не ответив по HTTP")
    assert message.endswith("его последний вывод:\n" + tail)  # the app's words, kept as text
    timeout = app_started(outcome(Started(Start.TIMEOUT, 9.0), port=7860, timeout=9), "ru")
    assert "не ответило по HTTP на порту 7860 за 9 с" in timeout.message


def _request(tmp_path: Path, **kw: object) -> ServiceRequest:
    limits = Resources(memory_mb=512, cpus=1.0, pids=64, disk_mb=64)
    return ServiceRequest(
        workdir=tmp_path, command=("python", "app.py"), port=7860, limits=limits, **kw
    )  # type: ignore[arg-type]


def test_app_container_has_the_kernel_sandbox_settings(tmp_path: Path) -> None:
    request = _request(tmp_path)
    config = service_config(
        request, image="img", image_config={}, run_dir=tmp_path, user=(10001, 10001), lifetime=60
    )
    shared = locked_down(request.limits, (10001, 10001))
    for key in ("network_mode", "read_only", "cap_drop", "security_opt", "user", "pids_limit"):
        assert config[key] == shared[key]
    assert config["network_mode"] == "none"
    assert "ports" not in config and "network" not in config
    mounts = {m["Target"]: m for m in config["mounts"]}
    assert mounts[SOCKET_DIR]["ReadOnly"] is False
    assert mounts["/opt/dl-grader"]["ReadOnly"] is True
    assert mounts["/submission"]["ReadOnly"] is True
    assert "/app" in config["tmpfs"]
    assert config["command"][-2:] == ["python", "app.py"]
    assert config["environment"]["PORT"] == "7860"


def test_own_image_runs_its_entrypoint_behind_the_forwarder(tmp_path: Path) -> None:
    request = _request(tmp_path, entrypoint_from_image=True)
    image = {"Entrypoint": ["uvicorn"], "Cmd": ["main:app"], "WorkingDir": "/srv"}
    config = service_config(
        request, image="img", image_config=image, run_dir=tmp_path, user=(1, 1), lifetime=60
    )
    assert config["entrypoint"][-1] == "--"
    assert config["command"] == ["uvicorn", "main:app"]
    assert config["working_dir"] == "/srv"
    assert "/submission" not in {m["Target"] for m in config["mounts"]}


SERVICE = Service(max_submission_mb=1)


def test_intake_copies_a_folder_without_links(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "weights").mkdir(parents=True)
    (src / "app.py").write_text("print(1)\n")
    (src / "weights" / "w.bin").write_bytes(b"x")
    (src / "link").symlink_to("/etc/passwd")
    work, sha = intake_app(src, SERVICE, tmp_path / "scratch")
    assert sorted(str(p.relative_to(work)) for p in work.rglob("*")) == [
        "app.py",
        "weights",
        "weights/w.bin",
    ]
    assert len(sha) == 64


def test_intake_takes_the_single_inner_folder_of_a_zip(tmp_path: Path) -> None:
    archive = tmp_path / "student.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("project/app.py", "print(1)\n")
    work, _ = intake_app(archive, SERVICE, tmp_path / "scratch")
    assert (work / "app.py").read_text() == "print(1)\n"


def test_intake_turns_a_notebook_into_the_app(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("!pip install gradio\n%matplotlib inline\nimport os"),
        nbformat.v4.new_markdown_cell("text"),
        nbformat.v4.new_code_cell("print(os.environ['PORT'])"),
    ]
    path = tmp_path / "app.ipynb"
    nbformat.write(nb, path)
    work, _ = intake_app(path, SERVICE, tmp_path / "scratch")
    source = (work / "app.py").read_text()
    compile(source, "app.py", "exec")
    assert "import os" in source and "print(os.environ['PORT'])" in source
    assert not any(line.lstrip().startswith(("!", "%")) for line in source.splitlines())


def test_intake_refuses_what_it_cannot_run(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SubmissionError) as no_app:
        intake_app(empty, SERVICE, tmp_path / "s1")
    assert no_app.value.refused.reason is Unusable.NOT_FOUND
    big = tmp_path / "big"
    big.mkdir()
    (big / "app.py").write_text("")
    (big / "weights.bin").write_bytes(b"\0" * (2 << 20))
    with pytest.raises(SubmissionError) as too_big:
        intake_app(big, SERVICE, tmp_path / "s2")
    assert too_big.value.refused.reason is Unusable.INVALID_NOTEBOOK


def test_audit_hook_reports_internet_destinations_only(tmp_path: Path) -> None:
    """The hook sees the lookup; a second hook (added after it) then stops the real one."""
    code = (
        "import socket, sys\n"
        "def stop(event, args):\n"
        "    if event == 'socket.getaddrinfo': raise RuntimeError('stopped')\n"
        "sys.addaudithook(stop)\n"
        "for host in ('localhost', '127.0.0.1', 'weights.example.invalid'):\n"
        "    try: socket.getaddrinfo(host, 443)\n"
        "    except RuntimeError: pass\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(INSIDE)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert egress_attempts(done.stderr) == ["weights.example.invalid:443"]


def test_loopback_proxy_carries_bytes_to_the_socket(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    ready = threading.Event()

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write((await reader.readline()).upper())
        await writer.drain()
        writer.close()

    async def serve() -> None:
        server = await asyncio.start_unix_server(echo, path=str(path))
        ready.set()
        async with server:
            await asyncio.sleep(5)

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    ready.wait(10)
    with loopback_proxy(path) as url:
        host, port = url.removeprefix("http://").split(":")
        assert host == "127.0.0.1"
        import socket

        with socket.create_connection((host, int(port)), timeout=5) as conn:
            conn.sendall(b"hello\n")
            assert conn.recv(100) == b"HELLO\n"


def test_checks_stop_when_their_time_is_spent(tmp_path: Path) -> None:
    """A slow app cannot stall a batch: past the budget every request fails at once."""
    from grader.pipeline.services.fixtures import App
    from grader.pipeline.services.local import LocalServices

    class Gone:
        socket = tmp_path / "none.sock"

        def exited(self) -> None:
            return None

        def logs(self, max_bytes: int = 0) -> str:
            return ""

    app = App(Gone(), host=LocalServices(), request=_request(tmp_path), request_timeout=5, budget=0)
    with pytest.raises(TimeoutError, match="used up"):
        app.get("/")
    app.close()


COURSE = "dl-grader-detection_ui:abc"


@pytest.mark.parametrize(
    "dockerfile",
    [
        f"FROM {COURSE}\nCOPY . /app\n",
        "ARG COURSE_IMAGE\nFROM ${COURSE_IMAGE}\nCOPY . /app\n",
        "from $COURSE_IMAGE as build\nRUN true\nFROM build\nCOPY --from=build /a /b\n",
        f"FROM --platform=linux/amd64 {COURSE} AS base\nFROM base\nCOPY --from=0 /a /b\n",
        "FROM ${COURSE_IMAGE}\nRUN --mount=type=cache,target=/root/.cache pip --version\n",
    ],
)
def test_a_dockerfile_on_the_course_image_is_accepted(dockerfile: str) -> None:
    check_dockerfile(dockerfile, course_image=COURSE)


@pytest.mark.parametrize(
    ("dockerfile", "culprit"),
    [
        ("COPY . /app\n", "no FROM"),
        ("FROM python:3.11\nCOPY . /app\n", "python:3.11"),
        ("ARG BASE=ubuntu\nFROM ${BASE}\n", "${BASE}"),
        ("FROM ${COURSE_IMAGE}\nCOPY --from=alpine:3 /bin/sh /sh\n", "alpine:3"),
        ("FROM ${COURSE_IMAGE}\nRUN --mount=type=bind,from=busybox,target=/b ls\n", "busybox"),
        ("FROM ${COURSE_IMAGE}\nCOPY --from=later /a /b\nFROM ${COURSE_IMAGE} AS later\n", "later"),
    ],
)
def test_a_dockerfile_that_reads_another_image_is_refused(dockerfile: str, culprit: str) -> None:
    with pytest.raises(ImageRefused) as info:
        check_dockerfile(dockerfile, course_image=COURSE)
    assert culprit in info.value.message
