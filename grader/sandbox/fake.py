"""FakeSandbox for unit tests: records every request and runs a plain, unlimited kernel.

Only for trusted fixture notebooks: nothing is contained.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from jupyter_core.utils import run_sync

from grader.sandbox.base import (
    CommandKernelManager,
    Kernel,
    KernelRequest,
    iter_mount_links,
    release,
)


class FakeSandbox:
    name = "fake"

    def __init__(self) -> None:
        self.requests: list[KernelRequest] = []
        self.closed = 0

    def close(self) -> None:
        """Nothing is kept between kernels."""

    @contextmanager
    def kernel(self, request: KernelRequest) -> Iterator[Kernel]:
        self.requests.append(request)
        for link, host in iter_mount_links(request):
            link.symlink_to(host.resolve(), target_is_directory=True)
        km = CommandKernelManager(
            [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        )
        try:
            yield Kernel(km)
        finally:
            self.closed += 1
            if km.has_kernel:
                run_sync(km.shutdown_kernel)(now=True)
            release(km)
