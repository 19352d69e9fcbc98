"""Housekeeping: sandbox containers a killed grader left behind, and their run folders.

Each container's labels name its owner (:class:`~grader.sandbox.owner.Owner`: host, pid, start
time, boot, pid namespace). Its tether stops it within moments of the owner's death; what stays
(a stopped container, its run folder) is removed here, and only when the owner is provably gone
(``grade sandbox prune --all`` removes every sandbox container of the engine).
"""

from __future__ import annotations

import logging
import os
import socket
import stat
import tempfile
from pathlib import Path
from typing import Any

from grader.core.errors import SandboxError
from grader.sandbox import scratch
from grader.sandbox.docker.container import LABEL, LABEL_RUN_DIR, RUN_DIR_PREFIX, _remove
from grader.sandbox.docker.engine import ENGINE_ERRORS, connect
from grader.sandbox.owner import LABEL_HOST, LABEL_PID, Owner
from grader.sandbox.reclaim import Reclaimed

log = logging.getLogger(__name__)


def prune(*, client: Any, everything: bool = False) -> Reclaimed:
    """Remove sandbox containers left by graders that are gone (all of ours if
    ``everything``), with their run folders; returns what was removed."""
    names: list[str] = []
    folders: list[Path] = []
    for container in client.containers.list(all=True, filters={"label": LABEL}):
        labels = container.labels or {}
        if everything or orphaned(labels):
            _remove(container)
            names.append(str(container.name))
            run_dir = _run_dir(labels.get(LABEL_RUN_DIR, ""))
            if run_dir is not None and scratch.remove(run_dir):
                folders.append(run_dir)
    return Reclaimed(tuple(names), tuple(folders))


def orphaned(labels: dict[str, str]) -> bool:
    """Made on this host by a process that is provably gone (labels of older graders, with
    no start time: a pid that no longer runs)."""
    if labels.get(LABEL_HOST) != socket.gethostname():
        return False
    owner = Owner.from_labels(labels)
    return owner is None or owner.gone()


def _run_dir(path: str) -> Path | None:
    """The run folder a label names, if it is one of ours: a folder of this user, no link,
    named as the sandbox names them, in the temporary folder (or, stamped with an owner
    that is gone, in a batch worker's)."""
    if not path:
        return None
    run_dir = Path(path)
    try:
        info = os.lstat(run_dir)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        return None
    if not run_dir.name.startswith(RUN_DIR_PREFIX):
        return None
    if run_dir.parent == Path(tempfile.gettempdir()):
        return run_dir
    owner = scratch.owner_of(run_dir)
    return run_dir if owner is not None and owner.gone() else None


def remove_owned_by(pid: int) -> list[str]:
    """Remove the sandbox containers that process ``pid`` of this host started (a grading
    worker that was killed); returns their names. Never raises: Docker may be gone too."""
    try:
        client = connect(timeout=10)
    except SandboxError:
        return []
    labels = [LABEL, f"{LABEL_PID}={pid}", f"{LABEL_HOST}={socket.gethostname()}"]
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
