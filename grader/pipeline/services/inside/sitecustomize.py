"""Loaded by every Python process of a service sandbox (on PYTHONPATH): report attempts to
reach the internet, so that an app that fails to start because it tried to download weights
gets that verdict instead of a bare crash. Diagnosis only: the sandbox has no network anyway.

An audit hook cannot be removed once added. It prints one line per new destination to the
process's stderr (the container's log), which the grader reads back as data.
"""

from __future__ import annotations

import sys
from typing import Any

MARK = "dl-grader: network access attempted: "
_seen: set[str] = set()


def _local(host: object) -> bool:
    host = host.decode(errors="replace") if isinstance(host, bytes) else str(host)
    return host in ("", "localhost", "::1", "0.0.0.0", "::") or host.startswith(("127.", "/"))


def _destination(event: str, args: tuple[Any, ...]) -> str | None:
    if event == "socket.getaddrinfo":
        host, port = args[0], args[1]
    elif event in ("socket.connect", "socket.sendto") and len(args) > 1:
        address = args[-1]
        if not isinstance(address, tuple) or not address:
            return None  # a unix socket
        host, port = address[0], address[1] if len(address) > 1 else ""
    else:
        return None
    return None if host is None or _local(host) else f"{host}:{port}"


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not event.startswith("socket."):
        return
    try:
        where = _destination(event, args)
    except Exception:
        return
    if where is None or where in _seen or len(_seen) > 20:
        return
    _seen.add(where)
    stream = sys.__stderr__
    if stream is None:
        return
    try:
        stream.write(f"{MARK}{where}\n")
        stream.flush()
    except Exception:
        pass


sys.addaudithook(_hook)
