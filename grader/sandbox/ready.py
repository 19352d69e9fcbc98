"""Waiting for a kernel to be ready, without jupyter_client's fixed waits.

``KernelClient.wait_for_ready`` ends by "flushing" iopub until 0.2 s pass with no message, and
a client without a kernel manager first sleeps 0.2 s before its first heartbeat check: up to
0.4 s per client where nothing runs, twice per submission (nbclient's client and the bridge's),
on both cores of a batch. Here a kernel is ready once it has answered ``kernel_info`` on shell
and a message about that same request has arrived on iopub, which proves the iopub
subscription is live (a message published before it would be lost). Messages of other
requests left on iopub are harmless: nbclient and the bridge match replies by parent id.
"""

from __future__ import annotations

import math
import time
from queue import Empty
from typing import Any

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_core.utils import ensure_async, run_sync

REPLY_WAIT = 1.0
"""Seconds to wait for the kernel_info reply before asking again (a kernel still starting)."""
IOPUB_WAIT = 0.5
"""Seconds to wait for the request's status on iopub before asking again (not subscribed yet)."""


async def wait_until_ready(kc: Any, timeout: float | None) -> None:
    """Ask ``kernel_info`` until it is answered on shell and seen on iopub; raise
    RuntimeError when the kernel dies or ``timeout`` seconds pass (as jupyter_client does)."""
    deadline = time.monotonic() + (math.inf if timeout is None else timeout)
    while True:
        msg_id = kc.kernel_info()
        reply = await _next_of(kc.shell_channel, msg_id, REPLY_WAIT, "kernel_info_reply")
        if reply is not None and await _next_of(kc.iopub_channel, msg_id, IOPUB_WAIT):
            kc._handle_kernel_info_reply(reply)
            return
        if not await ensure_async(kc._async_is_alive()):
            raise RuntimeError("Kernel died before replying to kernel_info")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kernel didn't respond to kernel_info in {timeout} seconds")


async def _next_of(channel: Any, msg_id: str, wait: float, kind: str = "") -> Any:
    """The first message on ``channel`` answering ``msg_id`` (of type ``kind`` if given)."""
    end = time.monotonic() + wait
    while (left := end - time.monotonic()) > 0:
        try:
            msg = await ensure_async(channel.get_msg(timeout=left))
        except Empty:
            return None
        if msg["parent_header"].get("msg_id") == msg_id and kind in ("", msg["msg_type"]):
            return msg
    return None


class ReadyAsyncClient(AsyncKernelClient):
    """The client nbclient gets from the sandboxes' kernel managers."""

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        await wait_until_ready(self, timeout)

    wait_for_ready = _async_wait_for_ready


class ReadyBlockingClient(BlockingKernelClient):
    """The bridge's client; give it the kernel manager as ``parent`` so liveness is asked
    of the manager, not of a heartbeat that has not beaten yet."""

    async def _ready(self, timeout: float | None = None) -> None:
        await wait_until_ready(self, timeout)

    wait_for_ready = run_sync(_ready)
