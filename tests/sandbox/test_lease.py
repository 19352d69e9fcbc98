"""A sandbox dies with its owner: the tether ends its whole process group as soon as the
owner's lease ends (closed, or the owner killed with SIGKILL), and otherwise passes the
child's end and signals through unchanged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.sandbox import tether
from grader.sandbox.lease import Lease, tethered
from grader.sandbox.processes import started

SOON = 10.0
"""Seconds within which what is tethered must be gone (it takes milliseconds; the machine
running the suite may be busy)."""


def _gone(pid: int) -> bool:
    return started(pid) is None


def _wait(condition: Callable[[], bool], timeout: float = SOON) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _pids(path: Path) -> list[int]:
    """Pids the tethered shell wrote (itself, its background child), once both are there."""
    assert _wait(lambda: path.exists() and len(path.read_text().split()) == 2)
    return [int(p) for p in path.read_text().split()]


FAMILY = 'sleep 60 & echo $$ $! > "$0"; wait'
"""A shell with a child of its own: the whole group must go, not just the tether's child."""


def _start(lease: Path, command: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
    argv = tethered(command, lease=lease)
    return subprocess.Popen(argv, start_new_session=True, **kwargs)  # type: ignore[call-overload]


def test_closing_the_lease_ends_the_whole_group(tmp_path: Path) -> None:
    with Lease(tmp_path / "lease") as lease:
        proc = _start(lease.path, ["sh", "-c", FAMILY, str(tmp_path / "pids")])
        pids = _pids(tmp_path / "pids")
    assert proc.wait(SOON) == -signal.SIGKILL
    assert _wait(lambda: all(_gone(p) for p in pids)), pids
    assert not (tmp_path / "lease").exists()


def test_a_killed_owner_takes_its_sandboxes_with_it(tmp_path: Path) -> None:
    """The owner is SIGKILLed: no cleanup of its own runs, the kernel ends the lease."""
    owner = textwrap.dedent(
        f"""
        import subprocess, sys, time
        from pathlib import Path
        from grader.sandbox.lease import Lease, tethered
        lease = Lease(Path({str(tmp_path / "lease")!r}))
        cmd = tethered(["sh", "-c", {FAMILY!r}, {str(tmp_path / "pids")!r}], lease=lease.path)
        proc = subprocess.Popen(cmd, start_new_session=True)
        print(proc.pid, flush=True)
        time.sleep(120)
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", owner], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None
        tether_pid = int(holder.stdout.readline())
        pids = [tether_pid, *_pids(tmp_path / "pids")]
        assert not any(_gone(p) for p in pids)
        time.sleep(0.3)
        assert not any(_gone(p) for p in pids)  # an owner that lives keeps them
    finally:
        holder.kill()
        holder.wait()
    assert _wait(lambda: all(_gone(p) for p in pids)), pids


@pytest.mark.parametrize(
    ("script", "code"),
    [("exit 3", 3), ("kill -9 $$", -signal.SIGKILL), ("kill -TERM $$", -signal.SIGTERM)],
)
def test_the_tether_ends_as_its_child_did(tmp_path: Path, script: str, code: int) -> None:
    with Lease(tmp_path / "lease") as lease:
        proc = _start(lease.path, ["sh", "-c", script])
        assert proc.wait(SOON) == code


def test_without_an_owner_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    proc = _start(tmp_path / "no-lease", ["touch", str(marker)], stderr=subprocess.PIPE)
    _, err = proc.communicate(timeout=SOON)
    assert proc.returncode == tether.OWNER_GONE
    assert b"owns this sandbox is gone" in err and not marker.exists()


def test_killing_the_tether_kills_its_child(tmp_path: Path) -> None:
    """What code in the sandbox that kills its parent gets (PR_SET_PDEATHSIG)."""
    with Lease(tmp_path / "lease") as lease:
        script = 'echo $$ > "$0"; exec sleep 60'
        proc = _start(lease.path, ["sh", "-c", script, str(tmp_path / "p")])
        assert _wait(lambda: (tmp_path / "p").exists() and (tmp_path / "p").read_text().strip())
        child = int((tmp_path / "p").read_text())
        proc.kill()
        proc.wait()
        assert _wait(lambda: _gone(child))


CATCH = textwrap.dedent(
    """
    import signal, sys, time
    from pathlib import Path
    signal.signal(signal.SIGINT, lambda *a: sys.exit(7))
    Path(sys.argv[1]).write_text("ready")
    time.sleep(30)
    sys.exit(0)
    """
)


@pytest.mark.parametrize("forward", [True, False])
def test_signals_to_the_tether_reach_the_child_when_forwarded(
    tmp_path: Path, forward: bool
) -> None:
    """A container's init signals only the tether (forwarded); locally the whole group gets
    the signal, so the tether keeps it to itself (the kernel must not get it twice)."""
    ready = tmp_path / "ready"
    with Lease(tmp_path / "lease") as lease:
        command = [sys.executable, "-c", CATCH, str(ready)]
        argv = tethered(command, lease=lease.path, forward_signals=forward)
        proc = subprocess.Popen(argv, start_new_session=True)
        assert _wait(ready.exists)
        proc.send_signal(signal.SIGINT)
        if forward:
            assert proc.wait(SOON) == 7
        else:
            time.sleep(0.5)
            assert proc.poll() is None
    if not forward:
        assert proc.wait(SOON) == -signal.SIGKILL  # the lease ended


def test_usage_is_checked() -> None:
    for argv in (["--lease", "x"], ["--", "true"], ["--lease", "x", "--other", "--", "true"]):
        with pytest.raises(SystemExit):
            tether._parse(argv)
    assert tether._parse(["--lease", "x", "--forward-signals", "--", "a", "b"]) == (
        "x",
        True,
        ["a", "b"],
    )
    assert os.path.basename(tethered(["k"], lease=Path("l"))[3]) == "tether.py"
