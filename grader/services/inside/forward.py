"""Runs inside a service sandbox (trusted, standard library only): start the app, and carry
every connection made to a unix socket in the mounted run folder to the app's TCP port.

    python forward.py SOCKET PORT -- COMMAND...

The container has no network (only loopback), so the host cannot reach a TCP port in it; the
socket file, in a folder bind-mounted from the host, is the one way in. The forwarder ends
when the app does, with its exit status, so the container's end is the app's end.
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


async def _main(path: str, port: int, command: list[str]) -> int:
    app = subprocess.Popen(command)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda s, _f: app.send_signal(s))
    server = await asyncio.start_unix_server(lambda r, w: _serve_one(port, r, w), path=path)
    os.chmod(path, 0o600)
    async with server:
        while app.poll() is None:
            await asyncio.sleep(0.1)
    code = app.returncode
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    socket_path, port_text, dashes, *argv = sys.argv[1:]
    if dashes != "--" or not argv:
        sys.exit("usage: forward.py SOCKET PORT -- COMMAND...")
    sys.exit(asyncio.run(_main(socket_path, int(port_text), argv)))
