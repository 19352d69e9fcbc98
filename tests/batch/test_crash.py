"""A grader killed with SIGKILL mid-run, under both backends (`grade batch` and `grade check`):
within moments nothing of it runs any more (no kernel process, no running container); the next
grade command removes what it left (stopped containers, host folders); a rerun of the batch
counts every result exactly once.

Only containers of the killed run are looked at, and housekeeping removes only those of owners
that are provably gone: other graders sharing this machine's engine are never touched.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from batch_classes import build_class, make_course

from grader.sandbox import scratch
from grader.sandbox.processes import descendants

pytestmark = pytest.mark.slow
BACKENDS = [pytest.param("local"), pytest.param("docker", marks=pytest.mark.docker)]
GONE_WITHIN = 20.0
"""Seconds within which a killed grader's kernels and containers must have ended (it takes
well under one; the machine running the suite may be busy)."""
OLD = 1790000000  # before the fixture deadline
SLEEP = 15
"""Seconds a slow submission sleeps in a cell: long enough to be killed in the middle."""


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> Any:
    """A Docker client when the test runs under Docker (skipped without an engine)."""
    if request.node.callspec.params["backend"] != "docker":
        return None
    return request.getfixturevalue("docker_client")


@pytest.fixture(scope="module")
def docker_client(docker_engine: Any) -> Any:
    from grader.sandbox.docker import connect

    client = connect(timeout=30)
    yield client
    client.close()


def _slow(path: Path) -> Path:
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(1, nbformat.v4.new_code_cell(f"import time\ntime.sleep({SLEEP})"))
    nbformat.write(nb, path)
    return path


def _grade(*args: str) -> list[str]:
    return [sys.executable, "-m", "grader.cli", *args]


def _start(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("wb") as fh:
        return subprocess.Popen(
            cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )


def _wait(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@dataclass
class Killed:
    """What a grader had when it was killed: its processes, containers and folders."""

    pids: set[int]
    containers: list[Any]
    folders: list[Path]


def _ours(client: Any, pids: set[int]) -> list[Any]:
    """Sandbox containers that processes ``pids`` own (and no one else's)."""
    if client is None:
        return []
    found = client.containers.list(all=True, filters={"label": "dl-grader.sandbox"})
    return [c for c in found if c.labels.get("dl-grader.pid", "") in {str(p) for p in pids}]


def _folders(pids: set[int]) -> list[Path]:
    """Scratch folders in the temporary folder that processes ``pids`` own."""
    root = Path(tempfile.gettempdir())
    return sorted(
        p for p in root.iterdir() if (o := scratch.owner_of(p)) is not None and o.pid in pids
    )


def _running_sandboxes(proc: subprocess.Popen[bytes], client: Any) -> int:
    """Kernels mid-run: kernel processes below the grader, or its running containers."""
    pids = {proc.pid, *descendants(proc.pid)}
    if client is not None:
        return sum(c.status == "running" for c in _ours(client, pids))
    return sum(_is_kernel(p) for p in pids)


def _is_kernel(pid: int) -> bool:
    """An ipykernel itself (not its tether, whose command line names it too): exec'd, or
    forked from a batch worker's zygote (which names it ``ipykernel``)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return False
    return argv[1:3] == [b"-m", b"ipykernel_launcher"] or comm == "ipykernel"


def _kill(proc: subprocess.Popen[bytes], client: Any, *, group: bool = True) -> Killed:
    """SIGKILL the grader's process group (the grader, its workers), as a dying terminal or
    ``kill -9 -PGID`` does, or (not ``group``) its main process alone, as the OOM killer may;
    the kernels (own sessions) and containers are left to die alone."""
    os.killpg(proc.pid, signal.SIGSTOP)  # nothing new starts while we look
    pids = {proc.pid, *descendants(proc.pid)}
    killed = Killed(pids, _ours(client, pids), _folders(pids))
    if group:
        os.killpg(proc.pid, signal.SIGKILL)
    else:
        proc.kill()
        proc.wait(10)
        os.killpg(proc.pid, signal.SIGCONT)
    # A child forked with start_new_session (jupyter_client's launch) that got our SIGSTOP
    # while its setsid() was under way stops outside the group, before its exec, still holding
    # the grader's lease. The stop is this test's, not the crash's: do to it what the signal
    # would have done without the stop.
    for pid in _stopped(pids):
        os.kill(pid, signal.SIGKILL if group else signal.SIGCONT)
    proc.wait(10)
    return killed


def _stopped(pids: set[int]) -> list[int]:
    """Those of ``pids`` that are stopped (state T)."""
    found = []
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if stat.rpartition(")")[2].split()[0] == "T":
            found.append(pid)
    return found


def _left_running(killed: Killed) -> list[str]:
    """Processes and running containers of the killed grader: kernels (below it, or working
    in its folders), tethers, containers."""
    found = []
    for pid in _all_pids():
        cmd, cwd = _cmdline(pid), _cwd(pid)
        inside = any(str(f) in cmd or cwd.startswith(str(f)) for f in killed.folders)
        if (pid in killed.pids or inside) and cmd:
            found.append(f"{pid}: {cmd[:120]}")
    from docker.errors import NotFound

    for container in killed.containers:
        try:
            container.reload()
        except NotFound:
            continue  # removed already (by whatever grade command ran in the meantime)
        if container.attrs["State"]["Running"]:
            found.append(f"container {container.name}")
    return found


def _nothing_runs(killed: Killed) -> None:
    deadline = time.monotonic() + GONE_WITHIN
    while (left := _left_running(killed)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"still running {GONE_WITHIN} s after the kill: {left}"


def _nothing_left(killed: Killed) -> None:
    from docker.errors import NotFound

    assert not [f for f in killed.folders if os.path.lexists(f)]
    for container in killed.containers:
        with pytest.raises(NotFound):
            container.reload()


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _cwd(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return ""


def _results(out: Path) -> dict[str, int]:
    return {
        p.parent.name: (p.parent / "result.json").stat().st_mtime_ns
        for p in out.glob("*/batch.json")
    }


def _logged(out: Path) -> list[str]:
    log = out / ".batch" / "runs.jsonl"
    entries = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [e["student"] for e in entries if e["outcome"] != "retry"]


@pytest.mark.parametrize(
    ("backend", "group"),
    [*(pytest.param(b.values[0], True, marks=b.marks) for b in BACKENDS), ("local", False)],
    ids=["local", "docker", "local-main-process-only"],
)
def test_a_killed_batch_leaves_nothing_running_and_reruns_exactly_once(
    tmp_path: Path, backend: str, group: bool, engine: Any
) -> None:
    """``group``: the whole process group is killed; else only the batch's main process, and
    its workers must notice and stop (their kernels with them)."""
    assignment = make_course(tmp_path / "course", cell_timeout=60, total_timeout=90)
    members = {"a1.ipynb": "graded/full_marks", "a2.ipynb": "graded/broken_honest"}
    members |= {"b1.ipynb": "graded/full_marks", "b2.ipynb": "graded/full_marks"}
    root = build_class(tmp_path / "class", members)  # type: ignore[arg-type]
    _slow(root / "b1.ipynb"), _slow(root / "b2.ipynb")
    for p in root.iterdir():
        os.utime(p, (OLD, OLD))
    out = tmp_path / "out"
    cmd = _grade("batch", str(assignment), str(root), "--out", str(out), "-j", "2")
    cmd += ["--backend", backend]
    proc = _start(cmd, tmp_path / "run1.log")
    try:
        _wait(lambda: {"a1", "a2"} <= set(_results(out)), 240, "the fast submissions")
        _wait(lambda: _running_sandboxes(proc, engine) == 2, 120, "both slow kernels mid-run")
    finally:
        killed = _kill(proc, engine, group=group)
    assert killed.folders, "the killed batch had no scratch folder"
    assert len(killed.containers) == (2 if engine is not None else 0)
    _nothing_runs(killed)
    before = _results(out)
    assert {"a1", "a2"} <= set(before) and len(before) < 4

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    _nothing_left(killed)
    assert f"{len(before)} cached" in rerun.stdout
    after = _results(out)
    assert set(after) == {"a1", "a2", "b1", "b2"}
    assert {s: after[s] for s in before} == before, "a finished result was graded again"
    log = _logged(out)
    assert sorted(log) == ["a1", "a2", "b1", "b2"], log  # each exactly once, over both runs
    rows = json.loads((out / "gradebook.json").read_text())["students"]
    assert {r["student"]: r["total"] for r in rows} == {"a1": 4.0, "a2": 0.0, "b1": 4.0, "b2": 4.0}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_killed_check_leaves_nothing_running(tmp_path: Path, backend: str, engine: Any) -> None:
    """`grade check` killed mid-run (as by a CI step's time limit); the next command that
    starts sandboxes (`grade sandbox prune` under Docker, `grade check` locally) cleans up."""
    assignment = make_course(tmp_path / "course", cell_timeout=60, total_timeout=90)
    course = assignment.parent.parent
    notebook = build_class(tmp_path / "mine", {"tiny.ipynb": "graded/full_marks"}) / "tiny.ipynb"
    slow = _slow(build_class(tmp_path / "slow", {"tiny.ipynb": "graded/full_marks"}) / "tiny.ipynb")
    env = {**os.environ, "GRADER_COURSE": str(course)}
    cmd = _grade("check", "-a", "tiny", "--backend", backend)
    proc = _start([*cmd, str(slow)], tmp_path / "check.log", env)
    try:
        _wait(lambda: _running_sandboxes(proc, engine) == 1, 180, "the kernel mid-run")
    finally:
        killed = _kill(proc, engine)
    assert killed.folders, "the killed check had no scratch folder"
    assert len(killed.containers) == (1 if engine is not None else 0)
    _nothing_runs(killed)
    assert all(os.path.lexists(f) for f in killed.folders)  # until a grade command runs

    if engine is not None:
        prune = subprocess.run(_grade("sandbox", "prune"), capture_output=True, text=True, env=env)
        assert prune.returncode == 0, prune.stdout + prune.stderr
        assert f"removed container {killed.containers[0].name}" in prune.stdout
        assert all(f"removed folder {f}" in prune.stdout for f in killed.folders), prune.stdout
    else:
        again = subprocess.run(
            [*cmd, str(notebook)], capture_output=True, text=True, env=env, timeout=300
        )
        assert again.returncode == 0, again.stdout + again.stderr
    _nothing_left(killed)
