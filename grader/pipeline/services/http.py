"""HTTP to an app over its unix socket (the sandbox has no network to go through)."""

from __future__ import annotations

from pathlib import Path

import httpx

BASE_URL = "http://app"
"""Host name used in requests over the socket (any name would do: no lookup is made)."""


def client(socket: Path, *, timeout: float = 30.0) -> httpx.Client:
    """An httpx client whose every request goes to the app's socket."""
    transport = httpx.HTTPTransport(uds=str(socket), retries=0)
    return httpx.Client(transport=transport, base_url=BASE_URL, timeout=timeout)
