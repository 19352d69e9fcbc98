"""Housekeeping: sandbox containers a killed grader left behind (``grade sandbox prune``)."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

from grader.core.errors import SandboxError
from grader.sandbox.docker.container import LABEL, LABEL_RUN_DIR, RUN_DIR_PREFIX, _remove
from grader.sandbox.docker.engine import ENGINE_ERRORS, connect

log = logging.getLogger(__name__)


def prune(*, client: Any, everything: bool = False) -> list[str]:
    """Remove sandbox containers left by graders that are gone (all of ours if ``everything``).

    Returns the names removed.
    """
    removed = []
    for container in client.containers.list(all=True, filters={"label": LABEL}):
        labels = container.labels or {}
        if everything or _orphaned(labels):
            _remove(container)
            _remove_run_dir(labels.get(LABEL_RUN_DIR, ""))
            removed.append(str(container.name))
    return removed


def _remove_run_dir(path: str) -> None:
    """The socket/connection folder of a container whose grader died (ours only)."""
    run_dir = Path(path)
    ours = run_dir.parent == Path(tempfile.gettempdir()) and run_dir.name.startswith(RUN_DIR_PREFIX)
    if path and ours and not run_dir.is_symlink():
        shutil.rmtree(run_dir, ignore_errors=True)


def _orphaned(labels: dict[str, str]) -> bool:
    """Made on this host by a process that no longer runs."""
    if labels.get("dl-grader.host") != socket.gethostname():
        return False
    pid = int(labels.get("dl-grader.pid", "0")) if labels.get("dl-grader.pid", "").isdigit() else 0
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def remove_owned_by(pid: int) -> list[str]:
    """Remove the sandbox containers that process ``pid`` of this host started (a grading
    worker that was killed); returns their names. Never raises: Docker may be gone too."""
    try:
        client = connect(timeout=10)
    except SandboxError:
        return []
    labels = [LABEL, f"dl-grader.pid={pid}", f"dl-grader.host={socket.gethostname()}"]
    removed = []
    try:
        for container in client.containers.list(all=True, filters={"label": labels}):
            _remove(container)
            removed.append(str(container.name))
    except ENGINE_ERRORS as exc:
        log.warning("could not list the sandbox containers of process %s: %s", pid, exc)
    finally:
        client.close()
    return removed
