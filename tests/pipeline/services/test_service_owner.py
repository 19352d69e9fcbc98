"""Apps die with the grader that started them, as kernels do: the app's first process is a
tether to the owner's lease, so a grader killed with SIGKILL (no cleanup of its own runs)
leaves no app process or running app container behind, and housekeeping removes the rest
(the stopped container, the run folder), under both backends."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from grader.core.spec import Resources
from grader.pipeline.services.base import ServiceRequest
from grader.pipeline.services.docker import service_config
from grader.sandbox import scratch
from grader.sandbox.docker.container import LEASE, PYTHON, TETHER
from grader.sandbox.owner import Owner
from grader.sandbox.processes import descendants, started
from grader.sandbox.reclaim import reclaim

GONE_WITHIN = 20.0
"""Seconds within which a killed owner's app must have ended (it takes well under one)."""
APPS = Path(__file__).resolve().parents[2] / "fixtures" / "apps"
LIMITS = Resources(memory_mb=256, cpus=0.5, pids=64, disk_mb=64)


def _request(workdir: Path, **kw: Any) -> ServiceRequest:
    return ServiceRequest(
        workdir=workdir, command=("python", "app.py"), port=8000, limits=LIMITS, **kw
    )


def test_the_app_container_starts_under_the_tether(tmp_path: Path) -> None:
    for own_image in (False, True):
        image = {"Entrypoint": ["uvicorn"], "Cmd": ["main:app"]}
        config = service_config(
            _request(tmp_path, entrypoint_from_image=own_image),
            image="img",
            image_config=image,
            run_dir=tmp_path,
            user=(1, 1),
            lifetime=60,
        )
        first = config["entrypoint"][:6]
        lease = str(tmp_path / LEASE)
        assert first == [PYTHON, "-I", "-S", str(tmp_path / TETHER), "--lease", lease]
        assert "--forward-signals" in config["entrypoint"]
        conn = str(tmp_path / Path(LEASE).parent)
        mounts = {m["Target"]: m for m in config["mounts"]}
        assert mounts[conn]["Source"] == conn and mounts[conn]["ReadOnly"] is True
        assert Owner.from_labels(config["labels"]) == Owner.me()


OWNER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from grader.core.spec import Resources
    from grader.pipeline.services.base import ServiceRequest
    from grader.pipeline.services.ready import Start, wait_ready

    backend, workdir = sys.argv[1], Path(sys.argv[2])
    if backend == "docker":
        from grader.pipeline.services.docker import DockerServices as Host
    else:
        from grader.pipeline.services.local import LocalServices as Host
    limits = Resources(memory_mb=256, cpus=0.5, pids=64, disk_mb=64)
    request = ServiceRequest(
        workdir=workdir, command=("python", "app.py"), port=8000, limits=limits, label="owner"
    )
    with Host().service(request) as app:
        assert wait_ready(app, path="/", timeout=60).state is Start.READY
        name = app.container.name if backend == "docker" else app.process.pid
        print(name, flush=True)
        time.sleep(300)
    """
)


def _wait(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + GONE_WITHIN
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _own_folders(pid: int) -> list[Path]:
    root = Path(tempfile.gettempdir())
    return [p for p in root.iterdir() if (o := scratch.owner_of(p)) is not None and o.pid == pid]


def _start_owner(backend: str, tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    folder = tmp_path / "app"
    folder.mkdir()
    shutil.copyfile(APPS / "echo_ok.py", folder / "app.py")
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, backend, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert owner.stdout is not None
    line = owner.stdout.readline().strip()
    if not line:
        owner.kill()
        pytest.fail(f"the owner did not start its app (exit {owner.wait()})")
    return owner, line


def test_a_killed_owner_takes_its_local_app_with_it(tmp_path: Path) -> None:
    owner, tether_pid = _start_owner("local", tmp_path)
    try:
        pids = {int(tether_pid), *descendants(int(tether_pid))}
        assert len(pids) >= 3  # the tether, the forwarder, the app
        assert _own_folders(owner.pid)
    finally:
        owner.kill()
        owner.wait()
    _wait(lambda: all(started(p) is None for p in pids), "the app's processes to end")
    found = reclaim()
    left = _own_folders(owner.pid)
    assert not left, left
    assert found.folders


@pytest.mark.docker
def test_a_killed_owner_takes_its_app_container_with_it(tmp_path: Path, docker_engine: Any) -> None:
    owner, name = _start_owner("docker", tmp_path)
    try:
        container = docker_engine.containers.get(name)
        assert container.status == "running"
        run_dir = Path(container.labels["dl-grader.run-dir"])
        assert run_dir.exists()
    finally:
        owner.kill()
        owner.wait()

    def stopped() -> bool:
        container.reload()
        return bool(container.status == "exited")

    try:
        _wait(stopped, "the app container to stop")
        found = reclaim(docker=docker_engine)
        assert name in found.containers and run_dir in found.folders
        assert not run_dir.exists()
        assert name not in {c.name for c in docker_engine.containers.list(all=True)}
    finally:
        with_leftovers = docker_engine.containers.list(all=True, filters={"name": name})
        for leftover in with_leftovers:
            leftover.remove(force=True)
