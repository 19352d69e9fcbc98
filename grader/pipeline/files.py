"""What a student submitted, read as data: no link, device or FIFO is followed, all of it bounded.

A submission on the instructor's disk is untrusted: a notebook may be a symbolic link to the
reference solution (or to ``/dev/zero``), a FIFO that blocks every reader, a folder 1,500 levels
deep or 60,000 files wide. Every host-side look at a submission goes through this module:

* :func:`read_regular` opens one file with ``O_NOFOLLOW | O_NONBLOCK`` and reads it only when
  ``fstat`` says it is a regular file, never more than ``max_bytes``;
* :func:`walk` lists a folder without recursion and without following links, within
  :data:`MAX_ENTRIES` entries and :data:`MAX_DEPTH` levels;
* :func:`kind` says what a path is without following it.

Each refusal is a :class:`~grader.core.errors.SubmissionError` carrying a typed ``Refused``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from grader.core.errors import SubmissionError
from grader.core.lang import Phrase, Said
from grader.core.messages import Files as F
from grader.core.messages import Refusals
from grader.core.outcomes import Refused, Unusable

MAX_ENTRIES = 10_000
"""Files and folders in one submission (a folder or an unpacked zip)."""
MAX_DEPTH = 32
"""Folder levels below the submission's root."""
MAX_NAME_BYTES = 255
"""Bytes of one file or folder name (what Linux filesystems allow)."""
MAX_PATH_BYTES = 1024
"""Bytes of a path relative to the submission's root."""


@dataclass(frozen=True)
class Entry:
    """One thing found by :func:`walk`, as it is on disk (links not followed)."""

    path: Path
    relative: Path
    kind: str
    """'file', 'dir', 'link' or 'other' (a device, FIFO or socket)."""
    size: int


def kind(path: Path) -> str:
    """'file', 'dir', 'link', 'other' or 'missing', without following a link."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "missing"
    return _kind(mode)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    return "other"


def refusal(path: Path) -> Said | None:
    """Why ``path`` is no submission file or folder (None when it is one): links, devices."""
    what = kind(path)
    if what == "link":
        return Said.of(F.symlink, name=path.name, target=_target(path))
    if what == "other":
        return Said.of(F.special, name=path.name)
    return None


def _target(path: Path) -> str:
    try:
        return repr(os.readlink(path)[:200])
    except OSError:
        return "?"


def read_regular(path: Path, *, max_bytes: int) -> bytes:
    """The bytes of the regular file ``path``; a link, device, FIFO or a file over ``max_bytes``
    is refused (``invalid_notebook``) without blocking or reading further."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise SubmissionError(
            Refused.of(Unusable.NOT_FOUND, Refusals.path_missing, path=path.name)
        ) from None
    except OSError as exc:  # ELOOP: the last component is a link
        why = refusal(path) or Said.of(F.unreadable, name=path.name, error=exc.strerror)
        raise refused(why) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise refused(refusal(path) or Said.of(F.not_a_file, name=path.name))
        return _read_at_most(fd, path, max_bytes)
    finally:
        os.close(fd)


def _read_at_most(fd: int, path: Path, max_bytes: int) -> bytes:
    chunks, size = [], 0
    while chunk := os.read(fd, min(1 << 20, max_bytes + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            too_big = Said.of(F.larger_than, name=path.name, limit_mib=max_bytes >> 20)
            raise refused(too_big, F.clear_outputs)
    return b"".join(chunks)


def walk(
    root: Path, *, max_entries: int = MAX_ENTRIES, max_depth: int = MAX_DEPTH
) -> Iterator[Entry]:
    """Everything under ``root`` (not ``root`` itself), breadth first, links not followed; a
    tree over the limits is refused (``invalid_notebook``) as soon as it is seen to be."""
    todo: list[tuple[Path, int]] = [(root, 0)]
    seen = 0
    while todo:
        folder, depth = todo.pop(0)
        try:
            with os.scandir(folder) as it:
                found = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise refused(Said.of(F.unlistable, name=folder.name, error=exc.strerror)) from None
        for item in found:
            seen += 1
            if seen > max_entries:
                raise refused(Said.of(F.too_many, name=root.name, limit=max_entries))
            entry = _entry(item, root)
            if entry.kind == "dir":
                if depth + 1 >= max_depth:
                    raise refused(Said.of(F.too_deep, name=root.name, limit=max_depth))
                todo.append((entry.path, depth + 1))
            yield entry


def _entry(item: os.DirEntry[str], root: Path) -> Entry:
    info = item.stat(follow_symlinks=False)
    path = Path(item.path)
    return Entry(path, path.relative_to(root), _kind(info.st_mode), info.st_size)


def leaves(name: str) -> bool:
    """An archive member's name that points outside the archive (absolute, '..', a drive)."""
    parts = _parts(name)
    return name.startswith(("/", "\\")) or ".." in parts or bool(parts and ":" in parts[0])


def check_name(name: str) -> Said | None:
    """Why an archive member's name is unusable (too long, too deep, a NUL), or None."""
    parts = _parts(name)
    if len(name.encode("utf-8", "surrogateescape")) > MAX_PATH_BYTES:
        return Said.of(F.long_path, limit=MAX_PATH_BYTES)
    if any(len(p.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for p in parts):
        return Said.of(F.long_name, limit=MAX_NAME_BYTES)
    if len(parts) > MAX_DEPTH:
        return Said.of(F.deep_member, limit=MAX_DEPTH)
    if any("\x00" in p for p in parts):
        return Said.of(F.nul_name)
    return None


def _parts(name: str) -> list[str]:
    return [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]


def refused(message: Said, hint: Phrase = F.small) -> SubmissionError:
    """An ``invalid_notebook`` refusal: what happened, and what to do."""
    said = Said.of(Refusals.because, message=message, hint=Said.of(hint))
    return SubmissionError(Refused(Unusable.INVALID_NOTEBOOK, said))
