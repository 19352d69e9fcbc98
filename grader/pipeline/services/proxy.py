"""A loopback TCP port on the host that leads to an app's unix socket: what a browser needs.

Started only for the browser checks and closed with them. It listens on 127.0.0.1 with an
ephemeral port and copies bytes both ways; it understands nothing of HTTP, so a page can
send nothing through it that it could not send to its own app anyway.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

CHUNK = 65536


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with suppress(OSError):
            writer.close()


async def _forward(
    socket: Path, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        app_reader, app_writer = await asyncio.open_unix_connection(str(socket))
    except OSError:
        writer.close()
        return
    await asyncio.gather(_pipe(reader, app_writer), _pipe(app_reader, writer))


@contextmanager
def loopback_proxy(socket: Path) -> Iterator[str]:
    """Yield ``http://127.0.0.1:PORT`` forwarding to ``socket``; closed on exit."""
    loop = asyncio.new_event_loop()
    ready: asyncio.Future[int] = loop.create_future()
    stop = asyncio.Event()

    async def serve() -> None:
        server = await asyncio.start_server(
            lambda r, w: _forward(socket, r, w), host="127.0.0.1", port=0
        )
        ready.set_result(server.sockets[0].getsockname()[1])
        async with server:
            await stop.wait()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve())
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        port = asyncio.run_coroutine_threadsafe(_wait(ready), loop).result(timeout=10)
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
        loop.close()


async def _wait(future: asyncio.Future[int]) -> int:
    return await future
