"""Host folders a grading makes (work copies, kernel sockets, a worker's temporary folder),
named after the process that owns them, so that those of a killed grader can be found.

``dlg-<kind>-<pid>.<start>-<random>`` in the temporary folder: the owner's pid and start time
(:class:`~grader.sandbox.owner.Owner`) are in the name, so no file inside has to be trusted
(a local kernel can write in its own folder). :func:`orphans` lists the folders whose owner
is provably gone; only those are ever removed.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

from grader.sandbox.owner import Owner

_NAME = re.compile(r"dlg-[a-z0-9]+-(?P<pid>[0-9]+)\.(?P<started>[0-9]+)-[A-Za-z0-9_]+")


def prefix(kind: str) -> str:
    """The ``prefix`` for ``tempfile.mkdtemp``/``TemporaryDirectory`` of a folder of ``kind``
    (lowercase letters and digits) owned by this process."""
    me = Owner.me()
    return f"dlg-{kind}-{me.pid}.{me.started}-"


def owner_of(folder: Path) -> Owner | None:
    """The owner a scratch folder's name records; None for any other name."""
    found = _NAME.fullmatch(folder.name)
    if found is None:
        return None
    return Owner(int(found["pid"]), int(found["started"]))


def orphans(root: Path | None = None) -> list[Path]:
    """Scratch folders directly in ``root`` (the temporary folder) made by this user's graders
    that are gone; never a link, never another user's folder."""
    root = root or Path(tempfile.gettempdir())
    found = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return []
    for entry in entries:
        owner = owner_of(Path(entry.name))
        if owner is not None and _ours(entry) and owner.gone():
            found.append(Path(entry.path))
    return sorted(found)


def _ours(entry: os.DirEntry[str]) -> bool:
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()


def remove(folder: Path) -> bool:
    """Remove a scratch folder, also where a kernel took the permissions away; True when gone.
    Links inside are removed, never followed."""
    for path in _folders(folder):
        with suppress(OSError):
            os.chmod(path, 0o700)
    shutil.rmtree(folder, ignore_errors=True)
    return not os.path.lexists(folder)


def _folders(folder: Path) -> Iterator[str]:
    """``folder`` and every folder below it, top-down (each made listable before its turn)."""
    yield str(folder)
    for root, dirs, _files in os.walk(folder):
        for name in dirs:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                yield path
