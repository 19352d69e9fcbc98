"""Who owns a sandbox, and what housekeeping may remove: only what provably belongs to a
process that is gone (exited, or its pid reused), never another grader's (fake Docker client;
folders under ``tmp_path``)."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from grader.sandbox import scratch
from grader.sandbox.docker import LABEL, LABEL_RUN_DIR, prune
from grader.sandbox.owner import Owner
from grader.sandbox.processes import started
from grader.sandbox.reclaim import reclaim


@pytest.fixture(scope="module")
def dead() -> Owner:
    """A process of this host that has exited (reaped), with its real start time."""
    proc = subprocess.Popen(["sleep", "30"])
    ticks = started(proc.pid)
    assert ticks
    proc.kill()
    proc.wait()
    return replace(Owner.me(), pid=proc.pid, started=ticks)


# --- owners --------------------------------------------------------------------------------


def test_a_running_process_is_not_gone() -> None:
    me = Owner.me()
    assert me.pid == os.getpid() and me.started > 0 and me.host == socket.gethostname()
    assert not me.gone()
    assert Owner.from_labels(me.labels()) == me


def test_an_exited_process_is_gone(dead: Owner) -> None:
    assert dead.gone()


def test_a_reused_pid_is_another_process() -> None:
    assert replace(Owner.me(), started=Owner.me().started - 1).gone()


def test_a_zombie_is_gone() -> None:
    proc = subprocess.Popen(["true"])
    try:
        ticks = started(proc.pid)
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped
        owner = replace(Owner.me(), pid=proc.pid, started=ticks or 0)
        assert owner.gone()
    finally:
        proc.wait()


def test_what_this_host_cannot_see_is_never_gone(dead: Owner) -> None:
    assert not replace(dead, host="another-host").gone()
    assert not replace(dead, pidns="pid:[1]").gone()  # a grader in a container


def test_an_earlier_boot_of_this_host_is_gone() -> None:
    assert replace(Owner.me(), boot="00000000-0000-0000-0000-000000000000").gone()


def test_labels_of_older_graders_prove_only_an_exited_pid(dead: Owner) -> None:
    legacy = {"dl-grader.host": socket.gethostname(), "dl-grader.pid": str(os.getpid())}
    owner = Owner.from_labels(legacy)
    assert owner is not None and owner.started == 0 and not owner.gone()
    legacy["dl-grader.pid"] = str(dead.pid)
    assert Owner.from_labels(legacy).gone()  # type: ignore[union-attr]
    assert Owner.from_labels({"dl-grader.pid": "x"}) is None


# --- scratch folders -----------------------------------------------------------------------


def _stamped(root: Path, owner: Owner, kind: str = "grade") -> Path:
    folder = root / f"dlg-{kind}-{owner.pid}.{owner.started}-abcd_123"
    folder.mkdir()
    (folder / "work").mkdir()
    (folder / "work" / "notebook.ipynb").write_text("{}")
    return folder


def test_scratch_names_record_their_owner() -> None:
    folder = Path(tempfile.mkdtemp(prefix=scratch.prefix("grade")))
    try:
        owner = scratch.owner_of(folder)
        assert owner is not None
        assert (owner.pid, owner.started) == (os.getpid(), Owner.me().started)
    finally:
        folder.rmdir()
    assert scratch.owner_of(Path("/tmp/dlg-abc123xy")) is None  # an older grader's run dir
    assert scratch.owner_of(Path("/tmp/grader-123.456-x")) is None


def test_orphans_are_the_folders_of_gone_owners_only(tmp_path: Path, dead: Owner) -> None:
    gone = _stamped(tmp_path, dead)
    reused = _stamped(tmp_path, replace(Owner.me(), started=Owner.me().started - 1), "run")
    mine = _stamped(tmp_path, Owner.me())
    target = tmp_path / "elsewhere"
    target.mkdir()
    link = tmp_path / f"dlg-grade-{dead.pid}.{dead.started}-link"
    link.symlink_to(target, target_is_directory=True)
    (tmp_path / f"dlg-grade-{dead.pid}.{dead.started}-file").write_text("")
    assert scratch.orphans(tmp_path) == sorted([gone, reused])
    assert mine.is_dir() and target.is_dir()


def test_remove_takes_back_what_a_kernel_locked(tmp_path: Path, dead: Owner) -> None:
    folder = _stamped(tmp_path, dead)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("x")
    outside.chmod(0o750)
    (folder / "work" / "link").symlink_to(outside, target_is_directory=True)
    locked = folder / "work" / "locked"
    locked.mkdir()
    (locked / "inner").mkdir()
    (locked / "inner" / "f").write_text("x")
    (locked / "inner").chmod(0)
    locked.chmod(0)
    assert scratch.remove(folder)
    assert (outside / "keep.txt").read_text() == "x"
    assert outside.stat().st_mode & 0o777 == 0o750  # a link is removed, never followed


# --- containers ----------------------------------------------------------------------------


def _container(client: Any, name: str, labels: dict[str, str]) -> Any:
    return client.containers.create(name=name, labels={LABEL: "1", **labels})


def test_prune_removes_only_containers_of_gone_owners(fake_docker: Any, dead: Owner) -> None:
    me = Owner.me()
    here = {"dl-grader.host": me.host}
    gone = _container(fake_docker, "gone", dead.labels())
    reused = _container(fake_docker, "reused", replace(me, started=me.started - 1).labels())
    legacy = _container(fake_docker, "legacy", {**here, "dl-grader.pid": str(dead.pid)})
    alive = _container(fake_docker, "alive", me.labels())
    legacy_alive = _container(fake_docker, "legacy-alive", {**here, "dl-grader.pid": str(me.pid)})
    other_host = _container(fake_docker, "other-host", replace(dead, host="x").labels())
    other_ns = _container(fake_docker, "other-ns", replace(dead, pidns="pid:[1]").labels())
    found = prune(client=fake_docker)
    assert sorted(found.containers) == ["gone", "legacy", "reused"]
    assert gone.removed and reused.removed and legacy.removed
    kept = [alive, legacy_alive, other_host, other_ns]
    assert not any(c.removed for c in kept)
    everything = prune(client=fake_docker, everything=True)
    assert sorted(everything.containers) == sorted(c.name for c in kept)


def test_prune_removes_the_run_folder_of_a_gone_owner(fake_docker: Any, dead: Owner) -> None:
    run_dir = Path(tempfile.mkdtemp(prefix=f"dlg-run-{dead.pid}.{dead.started}-"))
    (run_dir / "conn").mkdir()
    _container(fake_docker, "gone", {**dead.labels(), LABEL_RUN_DIR: str(run_dir)})
    found = prune(client=fake_docker)
    assert found.containers == ("gone",) and found.folders == (run_dir,)
    assert not run_dir.exists()


@pytest.mark.parametrize("what", ["not ours", "a link", "another name"])
def test_prune_never_follows_a_run_folder_label_elsewhere(
    fake_docker: Any, dead: Owner, tmp_path: Path, what: str
) -> None:
    """Labels name a folder; only a folder named and placed as the sandbox makes them goes."""
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "f").write_text("x")
    place = keep
    if what == "not ours":
        if os.geteuid() != 0:
            pytest.skip("needs root to make another user's folder")
        place = Path(tempfile.mkdtemp(prefix=f"dlg-run-{dead.pid}.{dead.started}-"))
        os.chown(place, 12345, 12345)
    elif what == "a link":
        place = Path(tempfile.gettempdir()) / f"dlg-run-{dead.pid}.{dead.started}-lnk{os.getpid()}"
        place.symlink_to(keep, target_is_directory=True)
    elif what == "another name":
        place = Path(tempfile.mkdtemp(prefix="grader-"))
    try:
        _container(fake_docker, "gone", {**dead.labels(), LABEL_RUN_DIR: str(place)})
        assert prune(client=fake_docker).folders == ()
        assert (keep / "f").exists() and place.exists()
        assert [c.removed for c in fake_docker.containers.created] == [True]
    finally:
        if place.is_symlink():
            place.unlink()
        elif place != keep:
            place.rmdir()


def test_reclaim_takes_containers_then_folders(
    fake_docker: Any, dead: Owner, tmp_path: Path
) -> None:
    folder = _stamped(tmp_path, dead)
    mine = _stamped(tmp_path, Owner.me())
    _container(fake_docker, "gone", dead.labels())
    _container(fake_docker, "alive", Owner.me().labels())
    found = reclaim(docker=fake_docker, tmp=tmp_path)
    assert found.containers == ("gone",) and found.folders == (folder,)
    assert not folder.exists() and mine.exists()
    assert not reclaim(docker=fake_docker, tmp=tmp_path)  # nothing more


# --- when it runs --------------------------------------------------------------------------


@pytest.fixture
def tmp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder housekeeping scans, for this test alone."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_making_a_sandbox_reclaims_first(tmp_root: Path, dead: Owner) -> None:
    from grader.sandbox.choose import Backend, make_sandbox

    folder = _stamped(tmp_root, dead)
    make_sandbox(Backend.LOCAL, reclaim=False)
    assert folder.exists()  # a batch's workers leave it to their parent
    make_sandbox(Backend.LOCAL)
    assert not folder.exists()


def test_reclaiming_never_stops_a_command(
    tmp_root: Path, dead: Owner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No engine: the folders still go; the command itself reports the engine."""
    from grader.core.errors import SandboxError
    from grader.sandbox.choose import Backend, reclaim_leftovers
    from grader.sandbox.docker import engine

    def down(**kwargs: object) -> None:
        raise SandboxError("cannot reach the Docker engine")

    monkeypatch.setattr(engine, "connect", down)
    folder = _stamped(tmp_root, dead)
    assert reclaim_leftovers(Backend.DOCKER).folders == (folder,)


def test_grade_sandbox_prune_lists_what_it_removed(
    tmp_root: Path, dead: Owner, fake_docker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from grader import cli
    from grader.sandbox.docker import engine

    fake_docker.close = lambda: None
    monkeypatch.setattr(engine, "connect", lambda **kwargs: fake_docker)
    _container(fake_docker, "dl-grader-gone", dead.labels())
    _container(fake_docker, "dl-grader-alive", Owner.me().labels())
    folder = _stamped(tmp_root, dead)
    result = CliRunner().invoke(cli.app, ["sandbox", "prune"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "removed container dl-grader-gone" in lines
    assert f"removed folder {folder}" in lines
    assert "1 sandbox container(s) and 1 folder(s) removed" in lines
    assert "alive" not in result.output
