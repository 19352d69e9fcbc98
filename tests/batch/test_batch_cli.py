"""`grade batch` as instructors run it, in a subprocess: killed midway and rerun (every result
exactly once), Ctrl-C (clean stop, kernels gone), and a second batch on the same folder."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from batch_classes import build_class, make_course

from grader.core.store import Store
from grader.sandbox.processes import descendants

pytestmark = pytest.mark.slow

OLD = 1790000000  # before the fixture deadline


def grade_batch(assignment: Path, root: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "grader.cli",
        "batch",
        str(assignment),
        str(root),
        "--out",
        str(out),
        "--backend",
        "local",
        *extra,
    ]


def start(cmd: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as fh:
        return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the batch, its workers and its kernels (in their own sessions) at once."""
    os.killpg(proc.pid, signal.SIGSTOP)  # nothing new starts while we look
    pids = descendants(proc.pid)
    os.killpg(proc.pid, signal.SIGKILL)
    for pid in pids:
        for kill in (os.killpg, os.kill):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill(pid, signal.SIGKILL)
    proc.wait(10)


def finished(out: Path) -> dict[str, int]:
    return {
        p.parent.name: (p.parent / "result.json").stat().st_mtime_ns
        for p in out.glob("*/batch.json")
    }


def run_log(out: Path) -> list[str]:
    log = out / ".batch" / "runs.jsonl"
    entries = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [e["student"] for e in entries if e["outcome"] != "retry"]


def test_killed_batch_resumes_with_every_result_exactly_once(tmp_path: Path) -> None:
    assignment = make_course(tmp_path / "course")
    students = {
        f"s{i}.ipynb": "graded/full_marks" if i % 2 else "graded/broken_honest" for i in range(1, 7)
    }
    root = build_class(tmp_path / "class", students)  # type: ignore[arg-type]
    for p in root.iterdir():
        os.utime(p, (OLD, OLD))
    out = tmp_path / "out"
    proc = start(grade_batch(assignment, root, out, "-j", "1"), tmp_path / "run1.log")
    try:
        wait_for(lambda: len(finished(out)) >= 2, 120, "two results")
    finally:
        kill_tree(proc)
    before = finished(out)
    assert 2 <= len(before) < 6
    rerun = subprocess.run(
        grade_batch(assignment, root, out, "-j", "1"), capture_output=True, text=True, timeout=180
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"{len(before)} cached" in rerun.stdout
    store = Store(out)
    assert store.students() == [f"s{i}" for i in range(1, 7)]
    assert all(store.load(s) is not None for s in store.students())
    assert not list(out.glob("*/*.tmp")) and not list(out.glob("*/.*.tmp"))
    after = finished(out)
    assert {s: after[s] for s in before} == before, "a finished result was regraded"
    log = run_log(out)
    assert all(log.count(s) <= 1 for s in after), log
    assert set(log) | set(before) == set(after)
    rows = json.loads((out / "gradebook.json").read_text())["students"]
    assert {r["student"]: r["total"] for r in rows} == {
        f"s{i}": 4.0 if i % 2 else 0.0 for i in range(1, 7)
    }


@pytest.mark.parametrize("how", ["ctrl_c", "sigterm"])
def test_stopping_cleanly_keeps_finished_results(tmp_path: Path, how: str) -> None:
    """Ctrl-C (SIGINT to the whole foreground group) or SIGTERM to the batch (CI cancel)."""
    assignment = make_course(tmp_path / "course", cell_timeout=60, total_timeout=90)
    root = build_class(tmp_path / "class", {"a.ipynb": "graded/full_marks"})
    nb = nbformat.read(root / "a.ipynb", as_version=4)
    nb.cells.insert(1, nbformat.v4.new_code_cell("import time\ntime.sleep(50)"))
    nbformat.write(nb, root / "slow.ipynb")
    out = tmp_path / "out"
    proc = start(grade_batch(assignment, root, out, "-j", "1"), tmp_path / "run.log")
    try:
        wait_for(lambda: "a" in finished(out) and _kernels(proc.pid), 120, "the slow kernel")
        pids = descendants(proc.pid)
        names = {p: _cmdline(p) for p in pids}
        if how == "ctrl_c":
            os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        else:
            os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(40) == 130, (tmp_path / "run.log").read_text()
    finally:
        if proc.poll() is None:
            kill_tree(proc)
    wait_for(lambda: not [p for p in pids if _alive(p)], 10, "processes to exit")
    assert any("ipykernel" in n for n in names.values()), names
    assert Store(out).load("a") is not None
    assert not (out / "slow" / "result.json").exists()
    assert "stopping" in (tmp_path / "run.log").read_text()


def test_a_second_batch_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    assignment = make_course(tmp_path / "course")
    root = build_class(tmp_path / "class", {"a.ipynb": "graded/full_marks"})
    out = tmp_path / "out"
    code = (
        "import sys, time; from pathlib import Path; from grader.batch.lock import BatchLock\n"
        "with BatchLock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"locked"
        second = subprocess.run(
            grade_batch(assignment, root, out), capture_output=True, text=True, timeout=60
        )
    finally:
        holder.kill()
        holder.wait()
    assert second.returncode == 2
    assert "another `grade batch` is running" in second.stderr
    assert f"pid {holder.pid}" in second.stderr
    assert not (out / "a").exists()


def _kernels(pid: int) -> bool:
    return any("ipykernel" in _cmdline(child) for child in descendants(pid))


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    """The command line, and the name a kernel forked from a zygote is given."""
    try:
        proc = Path(f"/proc/{pid}")
        line = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        return f"{(proc / 'comm').read_text().strip()}: {line}"
    except OSError:
        return ""
