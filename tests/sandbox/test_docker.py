"""DockerSandbox: the container it asks for (fake client), and what a real one enforces."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from docker.errors import APIError
from docker.types import DeviceRequest
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from grader.core.errors import PayloadRejected, SandboxError
from grader.core.spec import Resources
from grader.sandbox.base import KernelEnd, KernelRequest, Mount
from grader.sandbox.docker import (
    LABEL,
    DockerKernelManager,
    DockerSandbox,
    InitProcess,
    connect,
    container_config,
    safe_read,
)
from grader.sandbox.docker.kernel import _proc_stat

LIMITS = Resources(memory_mb=512, cpus=1.5, pids=64, disk_mb=32, total_timeout=60)


def _request(tmp_path: Path, **kwargs: Any) -> KernelRequest:
    workdir = tmp_path / "alice"
    workdir.mkdir(exist_ok=True)
    return KernelRequest(workdir=workdir, limits=kwargs.pop("limits", LIMITS), **kwargs)


def _config(tmp_path: Path, **kwargs: Any) -> dict[str, Any]:
    ipc = tmp_path / "ipc"
    mode = kwargs.pop("workdir", "tmpfs")
    request = _request(tmp_path, **kwargs)
    return container_config(
        request, image="img", run_dir=ipc, user=(10001, 10001), lifetime=99, workdir=mode
    )


def _mounts(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["Target"]: m for m in config["mounts"]}


# --- the container it requests (no Docker needed) -------------------------------------------


def test_container_is_locked_down(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert config["network_mode"] == "none"
    assert config["cap_drop"] == ["ALL"]
    assert config["security_opt"] == ["no-new-privileges"]
    assert config["read_only"] is True
    assert config["user"] == "10001:10001"
    assert "privileged" not in config and "cap_add" not in config
    assert config["init"] is True


def test_container_gets_the_limits(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert config["mem_limit"] == config["memswap_limit"] == "512m"
    assert config["nano_cpus"] == 1_500_000_000
    assert config["pids_limit"] == 64
    assert {u["Name"]: u["Hard"] for u in config["ulimits"]}["fsize"] == 32 * 1024 * 1024
    assert all("size=32m" in options for options in config["tmpfs"].values())
    assert set(config["tmpfs"]) == {"/tmp", "/home/grader", str(tmp_path / "alice")}
    assert config["log_config"]["Config"] == {"max-size": "1m", "max-file": "1"}


def _tethered(command: list[str], run_dir: Path) -> list[str]:
    """The command under the tether, after checking the tether's own part."""
    conn = run_dir / "conn"
    split = command.index("--")
    assert command[:split] == [
        "/opt/venv/bin/python",
        "-I",
        "-S",
        str(conn / "tether.py"),
        "--lease",
        str(conn / "lease"),
        "--forward-signals",  # the container's init signals only its child
    ]
    return command[split + 1 :]


def test_container_command_is_the_tethered_kernel_with_a_deadline(tmp_path: Path) -> None:
    command = _tethered(_config(tmp_path, workdir="bind")["command"], tmp_path / "ipc")
    assert command[:4] == ["timeout", "--foreground", "--signal=KILL", "99s"]
    assert command[4:7] == ["/opt/venv/bin/python", "-m", "ipykernel_launcher"]
    assert command[-1] == str(tmp_path / "ipc" / "conn" / "kernel.json")


def test_tmpfs_workdir_gets_a_copy_first(tmp_path: Path) -> None:
    command = _tethered(_config(tmp_path)["command"], tmp_path / "ipc")
    assert command[:2] == ["/bin/sh", "-c"] and "cp -R -p /submission/. ." in command[2]
    bind = _tethered(_config(tmp_path, workdir="bind")["command"], tmp_path / "ipc")
    assert command[4:] == bind


def test_tmpfs_workdir_is_size_capped_and_the_copy_read_only(tmp_path: Path) -> None:
    data = tmp_path / "public"
    data.mkdir()
    config = _config(tmp_path, mounts=(Mount(host=data, target="data"),))
    mounts = _mounts(config)
    workdir, ipc = str(tmp_path / "alice"), tmp_path / "ipc"
    sockets, conn = str(ipc / "ipc"), str(ipc / "conn")
    assert set(mounts) == {"/submission", sockets, conn, f"{workdir}/data"}
    assert mounts["/submission"]["Source"] == workdir and mounts["/submission"]["ReadOnly"]
    assert "size=32m" in config["tmpfs"][workdir] and "uid=10001" in config["tmpfs"][workdir]
    assert not mounts[sockets]["ReadOnly"]
    assert mounts[conn]["ReadOnly"]  # the connection file cannot be swapped for a symlink
    assert (
        mounts[f"{workdir}/data"]["Source"] == str(data) and mounts[f"{workdir}/data"]["ReadOnly"]
    )
    assert all("docker.sock" not in m["Source"] for m in config["mounts"])
    assert config["working_dir"] == workdir


def test_bind_workdir_is_the_host_folder_read_write(tmp_path: Path) -> None:
    config = _config(tmp_path, workdir="bind")
    mounts = _mounts(config)
    workdir = str(tmp_path / "alice")
    assert mounts[workdir]["Source"] == workdir and not mounts[workdir]["ReadOnly"]
    assert "/submission" not in mounts and workdir not in config["tmpfs"]
    assert all(m["Source"] == m["Target"] for m in config["mounts"])  # same paths inside


@pytest.mark.parametrize("target", ["/etc", "../up", "a/../../b", ""])
def test_mount_targets_stay_inside_the_workdir(tmp_path: Path, target: str) -> None:
    with pytest.raises(SandboxError):
        _config(tmp_path, mounts=(Mount(host=tmp_path, target=target),))


def test_labels_name_the_sandbox_and_submission(tmp_path: Path) -> None:
    labels = _config(tmp_path)["labels"]
    assert labels[LABEL] == "1"
    assert labels["dl-grader.submission"] == "alice"
    assert labels["dl-grader.pid"] == str(os.getpid())


def test_environment_is_scrubbed_and_finds_the_venv(tmp_path: Path) -> None:
    env = _config(tmp_path, env={"EXTRA": "1"})["environment"]
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert env["HOME"] == "/home/grader"
    assert env["EXTRA"] == "1"
    assert env["CUDA_VISIBLE_DEVICES"] == ""
    assert not any(key.startswith("DOCKER") for key in env)


def test_no_gpu_requested_by_default(tmp_path: Path) -> None:
    assert _config(tmp_path)["device_requests"] == []


def test_gpus_are_requested_by_id(tmp_path: Path) -> None:
    config = _config(tmp_path, gpus=("0", "2"))
    assert config["device_requests"] == [
        DeviceRequest(device_ids=["0", "2"], capabilities=[["gpu"]])
    ]
    assert "CUDA_VISIBLE_DEVICES" not in config["environment"]  # renumbered from 0 inside


def test_all_gpus(tmp_path: Path) -> None:
    (request,) = _config(tmp_path, gpus=("all",))["device_requests"]
    assert request["Count"] == -1 and request["Capabilities"] == [["gpu"]]


def test_kernel_manager_uses_ipc_in_the_mounted_dir(tmp_path: Path, fake_docker: Any) -> None:
    client = fake_docker
    sandbox = DockerSandbox(client=client, image="img:test", docker_cli="true")
    with sandbox.kernel(_request(tmp_path)) as kernel:
        km = kernel.manager
        assert isinstance(km, DockerKernelManager)
        (container,) = client.containers.created
        targets = {m["Target"]: m["ReadOnly"] for m in container.config["mounts"]}
        run_dir = Path(km.connection_file).parent.parent
        assert km.transport == "ipc"
        assert targets[str(Path(km.ip).parent)] is False
        assert targets[str(Path(km.connection_file).parent)] is True
        assert km.format_kernel_cmd()[1:] == ["wait", container.id]
        assert run_dir.is_dir()
    assert container.removed
    assert not run_dir.exists()


def test_mount_points_replace_symlinks_in_the_workdir(tmp_path: Path, fake_docker: Any) -> None:
    request = _request(tmp_path, mounts=(Mount(host=tmp_path, target="data/public"),))
    (request.workdir / "data").symlink_to("/etc", target_is_directory=True)
    sandbox = DockerSandbox(client=fake_docker, image="img:test", docker_cli="true", workdir="bind")
    with sandbox.kernel(request):
        assert not (request.workdir / "data").is_symlink()
        assert (request.workdir / "data" / "public").is_dir()
    assert not Path("/etc/public").exists()


def test_everything_is_removed_when_the_caller_raises(tmp_path: Path, fake_docker: Any) -> None:
    client = fake_docker
    sandbox = DockerSandbox(client=client, image="img:test", docker_cli="true")
    with pytest.raises(KeyboardInterrupt), sandbox.kernel(_request(tmp_path)) as kernel:
        km = kernel.manager
        run_dir = Path(km.connection_file).parent.parent
        raise KeyboardInterrupt
    assert client.containers.created[0].removed
    assert not run_dir.exists()


def test_exit_reason_reports_out_of_memory(tmp_path: Path, fake_docker: Any) -> None:
    client = fake_docker
    with DockerSandbox(client=client, image="img:test", docker_cli="true").kernel(
        _request(tmp_path)
    ) as kernel:
        km = kernel.manager
        assert km.end() is KernelEnd.RUNNING
        km.container.attrs["State"] = {"Status": "exited", "ExitCode": 137, "OOMKilled": True}
        assert km.end() is KernelEnd.OUT_OF_MEMORY
    assert km.end() is KernelEnd.OUT_OF_MEMORY  # remembered after removal


class _Recording:
    """A container whose engine records its end late: ``reload`` walks through ``states``."""

    def __init__(self, *states: dict[str, Any]) -> None:
        self.states, self.reloads = list(states), 0
        self.attrs: dict[str, Any] = {"State": self.states[0]}

    def reload(self) -> None:
        self.attrs = {"State": self.states[min(self.reloads, len(self.states) - 1)]}
        self.reloads += 1


RUNNING = {"Status": "running", "Running": True, "ExitCode": 0, "OOMKilled": False}
KILLED = {"Status": "exited", "Running": False, "ExitCode": 137, "OOMKilled": False}
OOM = {**KILLED, "OOMKilled": True}
CRASHED = {**KILLED, "ExitCode": 1}


@pytest.mark.parametrize(
    "states, expected",
    [
        ((RUNNING, RUNNING, RUNNING, OOM), "out_of_memory"),  # the exit recorded late
        ((RUNNING, KILLED, KILLED, OOM), "out_of_memory"),  # the OOM event after the exit
        ((RUNNING, RUNNING, CRASHED), "exited"),
    ],
)
def test_exit_reason_waits_for_the_engine_to_record_the_end(
    tmp_path: Path,
    fake_docker: Any,
    monkeypatch: pytest.MonkeyPatch,
    states: tuple[dict[str, Any], ...],
    expected: str,
) -> None:
    """The kernel is seen dead (its init process ended) before dockerd has recorded the exit
    and handled the OOM event: end() waits for that record instead of saying None."""
    with DockerSandbox(client=fake_docker, image="img:test", docker_cli="true").kernel(
        _request(tmp_path)
    ) as kernel:
        km = kernel.manager
        km.container = container = _Recording(*states)
        monkeypatch.setattr(km, "_ended", lambda: True)
        assert km.end() == expected
        assert container.reloads == len(states)


def test_exit_reason_of_a_live_kernel_or_a_silent_engine_is_prompt(
    tmp_path: Path, fake_docker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with DockerSandbox(client=fake_docker, image="img:test", docker_cli="true").kernel(
        _request(tmp_path)
    ) as kernel:
        km = kernel.manager
        km.container = _Recording(RUNNING)
        started = time.monotonic()
        assert km.end() is KernelEnd.RUNNING  # not ended: nothing to wait for
        monkeypatch.setattr(km, "_ended", lambda: True)
        assert km.end(wait=0.3) is KernelEnd.EXITED  # the engine never records it: bounded
        assert time.monotonic() - started < 2


def test_init_process_is_dead_once_it_exits() -> None:
    child = subprocess.Popen(["sleep", "30"])
    init = InitProcess(child.pid, _proc_stat(child.pid)[19])
    assert init.alive()
    child.kill()
    deadline = time.monotonic() + 10
    while _proc_stat(child.pid)[0] != "Z" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not init.alive()  # a zombie: ended, not yet reaped
    child.wait()
    assert not init.alive()  # reaped
    assert not InitProcess(os.getpid(), "0").alive()  # the pid is now another process


def test_init_process_is_trusted_only_if_its_cgroup_names_the_container(fake_docker: Any) -> None:
    """A pid from another pid namespace (remote engine, grader in a container) may name any
    process here: then liveness is left to `docker wait` alone."""
    container = fake_docker.containers.create(name="c")
    container.attrs["State"]["Pid"] = os.getpid()  # a process, but not in the container
    assert InitProcess.of(container) is None
    container.attrs["State"]["Pid"] = 0
    assert InitProcess.of(container) is None


def test_missing_image_says_how_to_build_it(tmp_path: Path, fake_docker: Any) -> None:
    fake_docker.images.present.clear()
    sandbox = DockerSandbox(client=fake_docker, docker_cli="true")
    with pytest.raises(SandboxError) as info, sandbox.kernel(_request(tmp_path)):
        pass
    assert "grade image build" in info.value.hint


def test_refused_container_names_the_reason(
    tmp_path: Path, fake_docker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(**config: Any) -> None:
        raise APIError("400 Client Error", explanation="bind source path does not exist: /x")

    monkeypatch.setattr(fake_docker.containers, "create", refuse)
    sandbox = DockerSandbox(client=fake_docker, image="img:test", docker_cli="true")
    with pytest.raises(SandboxError) as info, sandbox.kernel(_request(tmp_path)):
        pass
    assert "bind source path does not exist" in info.value.message


def test_missing_docker_cli_is_a_sandbox_error(tmp_path: Path, fake_docker: Any) -> None:
    sandbox = DockerSandbox(client=fake_docker, image="img:test", docker_cli="no-docker")
    with pytest.raises(SandboxError) as info, sandbox.kernel(_request(tmp_path)):
        pass
    assert "grade doctor" in info.value.hint


def test_unreachable_engine_points_to_doctor(tmp_path: Path) -> None:
    with pytest.raises(SandboxError) as info:
        connect(host=f"unix://{tmp_path}/no.sock", timeout=2)
    assert "grade doctor" in info.value.hint


# --- reading the workdir back -------------------------------------------------------------


def test_safe_read_reads_regular_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "out.txt").write_text("hi")
    assert safe_read(tmp_path, "sub/out.txt") == b"hi"


@pytest.mark.parametrize("name", ["evil", "linkdir/passwd", "../x", "/etc/passwd", "fifo"])
def test_safe_read_refuses_links_and_odd_files(tmp_path: Path, name: str) -> None:
    (tmp_path / "evil").symlink_to("/etc/passwd")
    (tmp_path / "linkdir").symlink_to("/etc", target_is_directory=True)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(PayloadRejected):
        safe_read(tmp_path, name)


def test_safe_read_bounds_the_size(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 100)
    assert safe_read(tmp_path, "big", max_bytes=100) == b"x" * 100
    with pytest.raises(PayloadRejected):
        safe_read(tmp_path, "big", max_bytes=99)


# --- a real container ---------------------------------------------------------------------

docker = pytest.mark.docker


def _run(km: Any, workdir: Path, *sources: str, timeout: int = 60) -> list[Any]:
    """Run cells through nbclient in the sandbox's kernel; the outputs of each cell."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    client = NotebookClient(
        nb,
        km=km,
        timeout=timeout,
        allow_errors=True,
        interrupt_on_timeout=True,
        resources={"metadata": {"path": str(workdir)}},
    )
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
    return [cell.outputs for cell in nb.cells]


def _value(outputs: list[Any]) -> str:
    texts = [o["data"]["text/plain"] for o in outputs if o["output_type"] == "execute_result"]
    streams = [o["text"] for o in outputs if o["output_type"] == "stream"]
    errors = [f"{o['ename']}: {o['evalue']}" for o in outputs if o["output_type"] == "error"]
    return "".join(texts + streams + errors).strip()


@docker
def test_kernel_runs_a_cell(docker_engine: Any, tmp_path: Path) -> None:
    request = _request(tmp_path)
    with DockerSandbox(client=docker_engine).kernel(request) as kernel:
        km = kernel.manager
        (out,) = _run(km, request.workdir, "1 + 1")
    assert _value(out) == "2"


@docker
def test_sandbox_has_no_network_and_no_root(docker_engine: Any, tmp_path: Path) -> None:
    request = _request(tmp_path)
    probe = (
        "import socket\n"
        "s = socket.socket(); s.settimeout(3)\n"
        "try:\n    s.connect(('1.1.1.1', 53)); print('connected')\n"
        "except OSError as e:\n    print('refused', e.errno)\n"
        "print(sorted(n for _, n in socket.if_nameindex()))"
    )
    caps = "[l for l in open('/proc/self/status') if l.startswith('CapEff')][0].split()[1]"
    with DockerSandbox(client=docker_engine).kernel(request) as kernel:
        km = kernel.manager
        net, uid, eff = _run(km, request.workdir, probe, "import os; os.getuid()", caps)
    assert "refused" in _value(net) and "['lo']" in _value(net)
    assert _value(uid) not in {"0", ""}
    assert _value(eff) == "'0000000000000000'"


@docker
def test_root_is_read_only_and_scratch_is_writable(docker_engine: Any, tmp_path: Path) -> None:
    request = _request(tmp_path)
    (request.workdir / "given.txt").write_text("from the student")
    with DockerSandbox(client=docker_engine).kernel(request) as kernel:
        km = kernel.manager
        root, cwd, tmp, home = _run(
            km, request.workdir,
            "open('/usr/x', 'w')",
            "import os; open('out.txt', 'w').write('hi'); open('given.txt').read() + os.getcwd()",
            "open('/tmp/t', 'w').write('ok'); open('/tmp/t').read()",
            "import os; open(os.path.expanduser('~/h'), 'w').write('ok'); os.environ['HOME']",
        )  # fmt: skip
    assert "Read-only file system" in _value(root)
    assert _value(cwd) == repr(f"from the student{request.workdir}")
    assert not (request.workdir / "out.txt").exists()  # tmpfs: nothing comes back to the host
    assert _value(tmp) == "'ok'"
    assert _value(home) == "'/home/grader'"


@docker
def test_the_workdir_is_capped(docker_engine: Any, tmp_path: Path) -> None:
    request = _request(tmp_path)  # disk_mb=32: files of 20 MiB, the second one cannot fit
    fill = "for i in range(3):\n    open(f'f{i}', 'wb').write(b'x' * (20 << 20))"
    with DockerSandbox(client=docker_engine).kernel(request) as kernel:
        km = kernel.manager
        (out,) = _run(km, request.workdir, fill)
    assert "No space left on device" in _value(out)


@docker
def test_bind_workdir_writes_reach_the_host(docker_engine: Any, tmp_path: Path) -> None:
    request = _request(tmp_path)
    with DockerSandbox(client=docker_engine, workdir="bind").kernel(request) as kernel:
        km = kernel.manager
        _run(km, request.workdir, "open('out.txt', 'w').write('hi')")
    assert (request.workdir / "out.txt").read_text() == "hi"


@docker
def test_socket_folder_is_sealed_once_the_kernel_is_up(docker_engine: Any, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("the socket folder is sealed only when the grader runs as root")
    request = _request(tmp_path)
    probe = (
        "import json, os\nfrom ipykernel.connect import get_connection_file\n"
        "d = os.path.dirname(json.load(open(get_connection_file()))['ip'])\n"
        "try:\n    open(os.path.join(d, 'fill'), 'wb'); print('wrote')\n"
        "except OSError as e:\n    print(e.strerror)"
    )
    with DockerSandbox(client=docker_engine).kernel(request) as kernel:
        km = kernel.manager
        (out,) = _run(km, request.workdir, probe)
    assert _value(out) == "Permission denied"


@docker
def test_public_data_is_mounted_read_only(docker_engine: Any, tmp_path: Path) -> None:
    data = tmp_path / "public"
    data.mkdir()
    (data / "x.csv").write_text("1,2\n")
    request = _request(tmp_path, mounts=(Mount(host=data, target="data"),))
    with DockerSandbox(client=docker_engine).kernel(request) as kernel:
        km = kernel.manager
        read, write = _run(km, request.workdir, "open('data/x.csv').read()", "open('data/y', 'w')")
    assert _value(read) == repr("1,2\n")
    assert "Read-only file system" in _value(write)


@docker
def test_pids_are_limited(docker_engine: Any, tmp_path: Path) -> None:
    request = _request(tmp_path)
    bomb = (
        "import threading, time\nn = 0\n"
        "try:\n    while n < 1000:\n"
        "        threading.Thread(target=time.sleep, args=(5,), daemon=True).start(); n += 1\n"
        "except RuntimeError:\n    pass\nn"
    )
    with DockerSandbox(client=docker_engine).kernel(request) as kernel:
        km = kernel.manager
        (out,) = _run(km, request.workdir, bomb)
    assert int(_value(out)) < LIMITS.pids


def late_docker_cli(folder: Path, delay: float = 5) -> str:
    """The docker CLI, except that `docker wait` returns ``delay`` s after the container ends:
    what a busy engine does (it records an exit only after tearing the task down)."""
    real = shutil.which("docker")
    assert real is not None
    script = folder / "late-docker"
    script.write_text(
        f'#!/bin/sh\n"{real}" "$@"; rc=$?\n[ "$1" = wait ] && sleep {delay}\nexit $rc\n'
    )
    script.chmod(0o755)
    return str(script)


@docker
@pytest.mark.parametrize("engine", ["prompt", "late"])
def test_memory_bomb_is_killed_as_out_of_memory(
    docker_engine: Any, tmp_path: Path, engine: str
) -> None:
    request = _request(tmp_path)
    cli = late_docker_cli(tmp_path) if engine == "late" else "docker"
    with DockerSandbox(client=docker_engine, docker_cli=cli).kernel(request) as kernel:
        km = kernel.manager
        with pytest.raises(DeadKernelError):
            _run(km, request.workdir, "x = bytearray(2 * 1024**3)")
        assert km.end() is KernelEnd.OUT_OF_MEMORY


@docker
def test_a_crash_the_engine_reports_late_is_still_seen_in_time(
    docker_engine: Any, tmp_path: Path
) -> None:
    """The kernel dies at once, but `docker wait` says so only 5 s later: the death must be
    seen within the cell's 3 s (a time-out verdict otherwise), from the container's init."""
    request = _request(tmp_path)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os; os._exit(1)")])
    sandbox = DockerSandbox(client=docker_engine, docker_cli=late_docker_cli(tmp_path))
    with sandbox.kernel(request) as kernel:
        km = kernel.manager
        client = NotebookClient(nb, km=km, timeout=3, allow_errors=True)
        with client.setup_kernel():
            started = time.monotonic()
            with pytest.raises(DeadKernelError):  # not CellTimeoutError
                client.execute_cell(nb.cells[0], 0)
            assert time.monotonic() - started < 3
            assert km.end() is KernelEnd.EXITED  # a crash, not out of memory


@docker
def test_interrupt_reaches_the_kernel(docker_engine: Any, tmp_path: Path) -> None:
    request = _request(tmp_path)
    with DockerSandbox(client=docker_engine).kernel(request) as kernel:
        km = kernel.manager
        slow, after = _run(km, request.workdir, "import time; time.sleep(60)", "1 + 1", timeout=3)
    assert "KeyboardInterrupt" in _value(slow)
    assert _value(after) == "2"


@docker
def test_container_is_gone_after_exit_even_on_error(docker_engine: Any, tmp_path: Path) -> None:
    request = _request(tmp_path)
    with DockerSandbox(client=docker_engine).kernel(request) as kernel:
        km = kernel.manager
        _run(km, request.workdir, "1")
        name = km.container.name
    assert not docker_engine.containers.list(all=True, filters={"name": name})

    with pytest.raises(RuntimeError), DockerSandbox(client=docker_engine).kernel(request) as kernel:
        km = kernel.manager
        _run(km, request.workdir, "1")
        name = km.container.name
        raise RuntimeError("boom")
    assert not docker_engine.containers.list(all=True, filters={"name": name})


@docker
def test_symlinks_made_in_the_sandbox_are_not_followed(docker_engine: Any, tmp_path: Path) -> None:
    request = _request(tmp_path)
    with DockerSandbox(client=docker_engine, workdir="bind").kernel(request) as kernel:
        km = kernel.manager
        _run(km, request.workdir, "import os; os.symlink('/etc/passwd', 'result.json')")
    assert (request.workdir / "result.json").is_symlink()
    with pytest.raises(PayloadRejected):
        safe_read(request.workdir, "result.json")
