"""LocalSandbox: a kernel subprocess with rlimits, a scrubbed environment, its own folder,
mounts as links; everything it started is killed when the context exits."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from grader.core.spec import Resources
from grader.pipeline.bridge import Bridge
from grader.pipeline.execute import run_notebook
from grader.sandbox import launch
from grader.sandbox.base import KernelRequest, Mount, kernel_env
from grader.sandbox.local import ALLOCATOR_ENV, LocalSandbox

MIB = 1024 * 1024
IPYKERNEL_ADDS = {
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "FORCE_COLOR",
    "GIT_PAGER",
    "PAGER",
    "PYDEVD_USE_FRAME_EVAL",
    "TERM",
    "JPY_PARENT_PID",
}
LIMITS = Resources(memory_mb=1024, disk_mb=16, total_timeout=60, cpus=2)
PROBE = """
import os, resource, subprocess

env = dict(os.environ)
cwd = os.getcwd()
limits = {name: resource.getrlimit(getattr(resource, name))[0]
          for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_CORE")}
data_files = sorted(os.listdir("data"))
child = subprocess.Popen(["sleep", "300"]).pid
kernel_pid = os.getpid()
try:
    with open("big.bin", "wb") as f:
        f.write(b"\\0" * (20 * 1024 * 1024))
    big = "written"
except OSError as exc:
    big = type(exc).__name__
try:
    hog = bytearray(2 * 1024 ** 3)
    memory = "allocated"
except MemoryError:
    memory = "MemoryError"
try:
    room = bytearray(640 * 1024 ** 2)
    headroom = "allocated"
except MemoryError:
    headroom = "MemoryError"
room = None
"""


@dataclass
class Probe:
    values: dict[str, object]
    request: KernelRequest
    workdir: Path


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Probe]:
    public = tmp_path_factory.mktemp("public")
    (public / "numbers.csv").write_text("1,2,3\n")
    workdir = tmp_path_factory.mktemp("work")
    request = KernelRequest(workdir=workdir, limits=LIMITS, mounts=(Mount(public, "data"),))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    names = ["env", "cwd", "limits", "data_files", "child", "kernel_pid", "big", "memory"]
    names.append("headroom")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADER_TEST_SECRET", "must-not-leak")
        with run_notebook(nb, sandbox=LocalSandbox(), request=request, setup_code="") as ex:
            assert ex.outcome.completed and ex.cell_errors == (), ex.cell_errors
            with Bridge(ex.kernel.manager, timeout=30) as bridge:
                values = {name: bridge.get(name) for name in names}
    yield Probe(values, request, workdir)


def test_environment_is_scrubbed(probe: Probe) -> None:
    env = probe.values["env"]
    assert isinstance(env, dict)
    assert "GRADER_TEST_SECRET" not in env
    expected = {**ALLOCATOR_ENV, **kernel_env(probe.request, home=str(probe.workdir))}
    assert {k: env[k] for k in expected} == expected
    assert env["HOME"] == str(probe.workdir) and env["CUDA_VISIBLE_DEVICES"] == ""
    assert set(env) - set(expected) <= IPYKERNEL_ADDS


def test_working_folder_and_mounts(probe: Probe) -> None:
    assert probe.values["cwd"] == str(probe.workdir)
    assert probe.values["data_files"] == ["numbers.csv"]
    data = probe.workdir / "data"
    # A read-only copy, not a link: data/../hidden must not lead back into the assignment.
    assert data.is_dir() and not data.is_symlink()
    assert not (data / "numbers.csv").stat().st_mode & 0o222
    assert not (data.parent / "hidden").exists()


def test_rlimits(probe: Probe) -> None:
    limits = probe.values["limits"]
    assert isinstance(limits, dict)
    assert limits["RLIMIT_AS"] == LIMITS.memory_mb * MIB
    assert limits["RLIMIT_FSIZE"] == LIMITS.disk_mb * MIB
    assert limits["RLIMIT_CORE"] == 0
    assert limits["RLIMIT_CPU"] == LIMITS.total_timeout * LIMITS.cpus + 30
    assert probe.values["big"] == "OSError"  # the file size limit holds
    assert probe.values["memory"] == "MemoryError"  # and the memory limit
    assert (probe.workdir / "big.bin").stat().st_size <= LIMITS.disk_mb * MIB


def test_memory_limit_is_left_to_the_notebook(probe: Probe) -> None:
    """The address-space limit is not eaten by the allocator's reservations: glibc reserves
    64 MiB per thread arena, ~650 MiB of 1 GiB for ipykernel 7's threads, which left a
    notebook too little to format a 50 MB error and then import numpy (print_flood)."""
    assert probe.values["headroom"] == "allocated"


def test_everything_is_killed_on_exit(probe: Probe) -> None:
    pids = [probe.values["kernel_pid"], probe.values["child"]]
    assert all(isinstance(p, int) and p > 0 for p in pids)
    deadline = time.monotonic() + 5
    while any(_running(p) for p in pids) and time.monotonic() < deadline:  # type: ignore[arg-type]
        time.sleep(0.05)
    assert not [p for p in pids if _running(p)]  # type: ignore[arg-type]


def test_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_TEST_SECRET", "must-not-leak")
    request = KernelRequest(workdir=tmp_path, limits=LIMITS, gpus=("1",), env={"EXTRA": "yes"})
    argv = LocalSandbox(python="/opt/py/bin/python").command(request)
    split = argv.index("--")
    assert argv[:3] == ["/opt/py/bin/python", "-I", "-S"]  # isolated: no site, no cwd
    assert Path(argv[3]) == Path(launch.__file__)
    opts, command = launch._parse(argv[4:])
    assert command == argv[split + 1 :]
    assert command[:3] == ["/opt/py/bin/python", "-m", "ipykernel_launcher"]
    assert command[-2:] == ["-f", "{connection_file}"]
    assert (opts.memory_mb, opts.file_mb, opts.cwd) == (1024, 16, str(tmp_path))
    assert opts.cpu_seconds == 60 * 2 + 30
    assert opts.pids > LIMITS.pids
    env = dict(item.split("=", 1) for item in opts.env)
    assert env == {**ALLOCATOR_ENV, **kernel_env(request, home=str(tmp_path))}
    assert env["CUDA_VISIBLE_DEVICES"] == "1" and env["EXTRA"] == "yes"
    assert "must-not-leak" not in " ".join(argv)


def test_launch_usage() -> None:
    with pytest.raises(SystemExit):
        launch._parse(["--memory-mb", "1"])


def test_existing_mount_link_is_kept(tmp_path: Path) -> None:
    public = tmp_path / "public"
    public.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    (work / "data").symlink_to(public)
    request = KernelRequest(workdir=work, limits=LIMITS, mounts=(Mount(public, "data"),))
    with LocalSandbox().kernel(request) as kernel:
        km = kernel.manager
        assert not km.has_kernel  # a manager, not started: the executor starts it
    assert os.readlink(work / "data") == str(public)
