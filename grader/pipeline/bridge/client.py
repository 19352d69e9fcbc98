"""The host half of the bridge: tests call into the executed kernel and get data back.
Requests travel as comm messages on a comm the kernel half serves (as execute requests when
the kernel does not answer on it); what a request is and how its reply is checked is
:mod:`grader.pipeline.bridge.api`.

>>> model = nb.new("MLPRegressor", hidden_layer_sizes=(8,), max_iter=5)
>>> model.train(X, y)
>>> nb.call("predict_all", X)          # numpy array, decoded without pickle
>>> model.get("coefs_")                # attribute → data
>>> nb.state_dict("model")             # torch weights → {name: np.ndarray} via safetensors
"""

from __future__ import annotations

import base64
import json
import queue
import secrets
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync

from grader.core.errors import BridgeError, BridgeTimeout, PayloadRejected
from grader.pipeline.bridge.api import Calls, Handle, TensorRead, Traced
from grader.pipeline.bridge.codec import Limits
from grader.sandbox.ready import ReadyBlockingClient

MIME = "text/x-grader-bridge"
_MODULE = '__import__("sys").modules["_grader_bridge"]'
__all__ = ["Bridge", "Handle", "TensorRead", "Traced"]


def _none(kind: str, content: dict[str, Any]) -> None:
    return None


def _kernel_source() -> str:
    return resources.files("grader.pipeline.bridge").joinpath("kernel_side.py").read_text("utf-8")


class Bridge(Calls):
    """Calls into a running kernel over its messages."""

    def __init__(
        self,
        km: AsyncKernelManager,
        *,
        aliases: dict[str, list[str]] | None = None,
        timeout: float = 60.0,
        limits: Limits | None = None,
    ) -> None:
        self.km = km
        self.timeout = timeout
        self.limits = limits or Limits()
        self._aliases = aliases or {}
        self._kc: BlockingKernelClient | None = None
        self._comm_id: str | None = None
        """The comm requests travel on, once the kernel has answered on it."""

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Bridge:
        """Connect and install the kernel half; on failure nothing is left running."""
        kc = ReadyBlockingClient(parent=self.km)
        kc.load_connection_info(self.km.get_connection_info())
        kc.start_channels()
        self._kc = kc
        try:
            self._install(kc)
        except BaseException:
            self.close()
            raise
        return self

    def _install(self, kc: BlockingKernelClient) -> None:
        try:
            kc.wait_for_ready(timeout=self.timeout)
        except ValueError as exc:  # jupyter_client's "Invalid Signature" and malformed messages
            raise BridgeError(
                f"the kernel answered with a forged or malformed message: {exc}"
            ) from None
        src = base64.b64encode(_kernel_source().encode()).decode()
        target = f"grader_bridge_{secrets.token_hex(8)}"
        self._execute(
            f'import sys as _s, types as _t; _s.modules["_grader_bridge"] = _m = '
            f'_t.ModuleType("_grader_bridge"); exec(__import__("base64").b64decode("{src}"), '
            f"_m.__dict__); _m.configure({self._aliases!r}); _m.serve({target!r}); "
            "del _s, _t, _m",
            "bridge setup",
        )
        self._open_comm(kc, target)

    def _open_comm(self, kc: BlockingKernelClient, target: str) -> None:
        """Carry requests on comm messages from now on, if the kernel answers one on them;
        otherwise (a kernel whose comms the notebook broke) they stay execute requests."""
        comm_id = secrets.token_hex(16)
        self._await(self._send(kc, "comm_open", comm_id, target_name=target), "bridge setup")
        self._comm_id = comm_id
        try:
            self.has("_")
        except (PayloadRejected, BridgeError):
            self._comm_id = None

    def close(self) -> None:
        """Stop the client's channels: its heartbeat thread, sockets and own zmq context."""
        if self._kc is not None:
            self._kc.stop_channels()
            self._kc = None

    def __enter__(self) -> Bridge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transport(self, req: dict[str, Any], label: str) -> str | None:
        if self._comm_id is not None:
            return self._on_comm(req, label)
        arg = base64.b64encode(json.dumps(req).encode()).decode()
        return self._execute(f'{_MODULE}.run("{arg}")', label, want=req["nonce"])

    def _execute(self, code: str, label: str, want: str = "") -> str | None:
        """Run ``code``; return the bridge payload it published (checked by nonce)."""
        # silent: no execute_input broadcast and no IPython events, so the student's own
        # pre/post-run hooks do not run around the bridge's calls.
        msg_id = self._client().execute(code, silent=True, store_history=False, allow_stdin=False)

        def payload(kind: str, content: dict[str, Any]) -> str | None:
            data = content.get("data", {}).get(MIME) if kind == "display_data" else None
            return data if isinstance(data, str) and (not want or want in data[-64:]) else None

        return self._await(msg_id, label, payload)

    def _on_comm(self, req: dict[str, Any], label: str) -> str | None:
        """Send ``req`` on the bridge's comm; return the reply sent back on it."""

        def payload(kind: str, content: dict[str, Any]) -> str | None:
            if kind != "comm_msg" or content.get("comm_id") != self._comm_id:
                return None
            data = content.get("data")
            reply = data.get("reply") if isinstance(data, dict) else None
            return reply if isinstance(reply, str) and req["nonce"] in reply[-64:] else None

        msg_id = self._send(self._client(), "comm_msg", self._comm_id or "", data={"request": req})
        return self._await(msg_id, label, payload)

    def _client(self) -> BlockingKernelClient:
        if self._kc is None:
            raise BridgeError("bridge is not started")
        return self._kc

    @staticmethod
    def _send(kc: BlockingKernelClient, kind: str, comm_id: str, **content: Any) -> str:
        """Send a comm message of ``kind`` on the shell channel; its id."""
        msg = kc.session.msg(kind, {"comm_id": comm_id, "data": {}, **content})
        kc.shell_channel.send(msg)
        return str(msg["header"]["msg_id"])

    def _await(
        self, msg_id: str, label: str, pick: Callable[[str, dict[str, Any]], str | None] = _none
    ) -> str | None:
        """Read the kernel's messages until it is idle after ``msg_id``; the first payload
        ``pick`` finds among that request's messages."""
        kc = self._client()
        deadline = time.monotonic() + self.timeout
        payload: str | None = None
        while True:
            msg = self._next_iopub(kc, deadline, label)
            if msg is None or msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                return payload
            if payload is None:
                payload = pick(kind, content)

    def _next_iopub(self, kc: BlockingKernelClient, deadline: float, label: str) -> Any:
        if time.monotonic() > deadline:
            run_sync(self.km.interrupt_kernel)()
            raise BridgeTimeout(label, seconds=self.timeout)
        try:
            # The channel's own (synchronous) poll: kc.get_iopub_msg runs an asyncio loop per
            # message, which cost ~1 ms of CPU each, about 0.4 s a gd_backprop submission.
            return kc.iopub_channel.get_msg(timeout=0.2)
        except ValueError as exc:  # a bad signature or a malformed message: the kernel broke
            raise BridgeError(
                f"the kernel sent a forged or malformed message during {label}: {str(exc)[:200]}"
            ) from None
        except queue.Empty:
            if not run_sync(self.km.is_alive)():
                raise BridgeError(f"the kernel died during {label}") from None
            return None
