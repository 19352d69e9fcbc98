"""Runs inside a service sandbox (trusted, standard library only): start the app, and carry
every connection made to a unix socket in the mounted run folder to the app's TCP port.

    python forward.py SOCKET PORT [--wait-seal] -- COMMAND...

The container has no network (only loopback), so the host cannot reach a TCP port in it; the
socket file, in a folder bind-mounted from the host, is the one way in. With ``--wait-seal``
the app starts only once the host has taken that folder back (root-owned, read-only here) or
said to go on (a ``go`` file): no app code ever runs while it could write on the host. The
forwarder ends when the app does, with its exit status, so the container's end is the app's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys

CHUNK = 65536


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError):
            writer.close()


async def _serve_one(port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        app_reader, app_writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        writer.close()  # the app does not listen (yet): the host sees the connection close
        return
    await asyncio.gather(_pipe(reader, app_writer), _pipe(app_reader, writer))


async def _sealed(folder: str, timeout: float = 60.0) -> None:
    """Until the folder is the host's (sealed) or the host says go; at most ``timeout`` s."""
    for _ in range(int(timeout / 0.02)):
        if os.stat(folder).st_uid == 0 or os.path.exists(os.path.join(folder, "go")):
            return
        await asyncio.sleep(0.02)


async def _main(path: str, port: int, command: list[str], wait_seal: bool) -> int:
    server = await asyncio.start_unix_server(lambda r, w: _serve_one(port, r, w), path=path)
    os.chmod(path, 0o600)
    if wait_seal:
        await _sealed(os.path.dirname(path))
    app = subprocess.Popen(command)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda s, _f: app.send_signal(s))
    while app.poll() is None:
        await asyncio.sleep(0.1)
    server.close()
    code = app.returncode
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    socket_path, port_text, *rest = sys.argv[1:]
    wait = rest[:1] == ["--wait-seal"]
    dashes, *argv = rest[1:] if wait else rest
    if dashes != "--" or not argv:
        sys.exit("usage: forward.py SOCKET PORT [--wait-seal] -- COMMAND...")
    status = asyncio.run(_main(socket_path, int(port_text), argv, wait))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # no teardown of open connections: nothing of ours in the app's log
