"""What a student submitted, read as data: no link, device or FIFO is followed, all of it bounded.

A submission on the instructor's disk is untrusted: a notebook may be a symbolic link to the
reference solution (or to ``/dev/zero``), a FIFO that blocks every reader, a folder 1,500 levels
deep or 60,000 files wide. Every host-side look at a submission goes through this module:

* :func:`read_regular` opens one file with ``O_NOFOLLOW | O_NONBLOCK`` and reads it only when
  ``fstat`` says it is a regular file, never more than ``max_bytes``;
* :func:`walk` lists a folder without recursion and without following links, within
  :data:`MAX_ENTRIES` entries and :data:`MAX_DEPTH` levels;
* :func:`kind` says what a path is without following it.

Each refusal is a :class:`~grader.errors.SubmissionError` whose ``status`` is the verdict.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from grader.errors import SubmissionError
from grader.results import Status

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


def refusal(path: Path) -> str:
    """Why ``path`` is no submission file or folder ("" when it is one): links, devices, FIFOs."""
    what = kind(path)
    if what == "link":
        return (
            f"{path.name} is a symbolic link (to {_target(path)}); links are never followed: "
            "submit the file itself"
        )
    if what == "other":
        return f"{path.name} is not a regular file or folder (a device, FIFO or socket)"
    return ""


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
            f"{path.name} does not exist", status=Status.NOT_FOUND, hint="check the path"
        ) from None
    except OSError as exc:  # ELOOP: the last component is a link
        raise _refused(refusal(path) or f"{path.name} cannot be read ({exc.strerror})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _refused(refusal(path) or f"{path.name} is not a regular file")
        return _read_at_most(fd, path, max_bytes)
    finally:
        os.close(fd)


def _read_at_most(fd: int, path: Path, max_bytes: int) -> bytes:
    chunks, size = [], 0
    while chunk := os.read(fd, min(1 << 20, max_bytes + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise _refused(
                f"{path.name} is larger than {max_bytes >> 20} MiB",
                "clear the outputs (Edit → Clear all outputs) and save again",
            )
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
            raise _refused(f"{folder.name} cannot be listed ({exc.strerror})") from None
        for item in found:
            seen += 1
            if seen > max_entries:
                raise _refused(f"{root.name} holds more than {max_entries} files and folders")
            entry = _entry(item, root)
            if entry.kind == "dir":
                if depth + 1 >= max_depth:
                    raise _refused(f"{root.name} is nested more than {max_depth} folders deep")
                todo.append((entry.path, depth + 1))
            yield entry


def _entry(item: os.DirEntry[str], root: Path) -> Entry:
    info = item.stat(follow_symlinks=False)
    path = Path(item.path)
    return Entry(path, path.relative_to(root), _kind(info.st_mode), info.st_size)


def check_name(name: str) -> str:
    """Why an archive member's name is unsafe or unusable ("" when it is fine)."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
        return "leaves the archive (absolute or '..')"
    if len(name.encode("utf-8", "surrogateescape")) > MAX_PATH_BYTES:
        return f"a path longer than {MAX_PATH_BYTES} bytes"
    if any(len(p.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for p in parts):
        return f"a name longer than {MAX_NAME_BYTES} bytes"
    if len(parts) > MAX_DEPTH:
        return f"nested more than {MAX_DEPTH} folders deep"
    if any("\x00" in p for p in parts):
        return "a NUL byte in its name"
    return ""


def _refused(message: str, hint: str = "") -> SubmissionError:
    return SubmissionError(
        message,
        status=Status.INVALID_NOTEBOOK,
        hint=hint or "submit the notebook itself (or a plain zip of a small folder)",
    )
