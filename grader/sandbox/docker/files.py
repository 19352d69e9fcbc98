"""Reading what a kernel left in a ``bind`` workdir without trusting it (no symlinks followed)."""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from grader.core.errors import PayloadRejected

MIB = 1024 * 1024


def safe_read(workdir: Path, name: str, *, max_bytes: int = 64 * MIB) -> bytes:
    """Read ``workdir/name`` after the sandbox has had it, never following a symlink.

    Every component is opened with ``O_NOFOLLOW`` relative to the previous one; only a
    regular file of at most ``max_bytes`` is read. Anything else raises PayloadRejected.
    """
    parts = _relative_parts(name)
    fd = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            flags = os.O_NONBLOCK | os.O_NOCTTY if last else os.O_DIRECTORY
            parent, fd = fd, _open_at(fd, part, os.O_RDONLY | flags, name)
            os.close(parent)
        return _read_regular(fd, name, max_bytes)
    finally:
        os.close(fd)


def _relative_parts(name: str) -> tuple[str, ...]:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise PayloadRejected(f"{name!r} is not a plain relative path")
    return path.parts


def _open_at(dir_fd: int, part: str, flags: int, name: str) -> int:
    try:
        return os.open(part, flags | os.O_NOFOLLOW, dir_fd=dir_fd)
    except OSError as exc:
        raise PayloadRejected(
            f"cannot open {name!r}: {exc.strerror} (symlinks are refused)"
        ) from None


def _read_regular(fd: int, name: str, max_bytes: int) -> bytes:
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        raise PayloadRejected(f"{name!r} is not a regular file")
    chunks, size = [], 0
    while chunk := os.read(fd, min(MIB, max_bytes + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise PayloadRejected(f"{name!r} is larger than {max_bytes} bytes")
    return b"".join(chunks)
