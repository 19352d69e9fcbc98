"""A Ray cluster on this machine, each node a process group of its own: for the tests, the
benchmarks and trying ``--engine ray`` without machines (``python -m grader.batch.localcluster``).

The head schedules nothing (0 CPUs), so every task runs on a worker node; worker nodes may
claim GPUs they do not have (``--num-gpus``: Ray only counts them). Node failure is detected
within seconds (the health check is tightened), so a killed node's tasks fail fast.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

FAST_FAILURE = {
    "RAY_health_check_initial_delay_ms": "0",
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}
OBJECT_STORE = str(100 * 2**20)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalCluster:
    """``with LocalCluster(workers=2, cpus=1, gpus=1) as cluster: ... cluster.address``."""

    workers: int = 2
    cpus: int = 1
    gpus: int = 0
    ray: str = field(default_factory=lambda: str(Path(sys.executable).with_name("ray")))
    port: int = field(default_factory=_free_port)
    nodes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="dl-grader-ray-")))

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> LocalCluster:
        try:
            self._node(
                "head",
                "--head",
                f"--port={self.port}",
                "--num-cpus=0",
                "--num-gpus=0",
                "--include-dashboard=false",
                f"--temp-dir={self.logs / 'ray'}",
            )
            self._wait(1)
            for index in range(self.workers):  # one by one: a loaded machine starts slowly
                self._node(
                    f"worker-{index}",
                    f"--address={self.address}",
                    f"--num-cpus={self.cpus}",
                    f"--num-gpus={self.gpus}",
                )
                self._wait(2 + index)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _node(self, name: str, *options: str) -> None:
        env = {**os.environ, **FAST_FAILURE, "RAY_USAGE_STATS_ENABLED": "0"}
        argv = [
            self.ray,
            "start",
            "--block",
            "--node-ip-address=127.0.0.1",
            f"--object-store-memory={OBJECT_STORE}",
            "--disable-usage-stats",
            *options,
        ]
        with (self.logs / f"{name}.log").open("wb") as log:
            self.nodes.append(
                subprocess.Popen(
                    argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
                )
            )

    def _wait(self, count: int, timeout: float = 120) -> None:
        """Until ``count`` nodes are alive (asked in a separate process, which disconnects)."""
        code = (
            "import ray, sys\n"
            f"ray.init(address={self.address!r}, logging_level='ERROR')\n"
            "print(sum(1 for n in ray.nodes() if n['Alive']))"
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(node.poll() is not None for node in self.nodes):
                raise RuntimeError(f"a Ray node exited; see {self.logs}")
            done = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
            )
            if done.returncode == 0 and int(done.stdout.split()[-1]) >= count:
                return
            time.sleep(0.5)
        raise TimeoutError(f"{count} Ray nodes did not come up; see {self.logs}")

    def kill(self, worker: int) -> None:
        """SIGKILL worker node ``worker`` (its raylet, its workers and what they started)."""
        node = self.nodes[1 + worker]
        with suppress(ProcessLookupError):
            os.killpg(node.pid, signal.SIGKILL)
        node.wait()

    def stop(self) -> None:
        """Every node: SIGTERM lets `ray start --block` stop its processes; what is left after
        a few seconds (a node drains for up to 30 s) is killed."""
        for node in reversed(self.nodes):
            with suppress(ProcessLookupError):
                os.killpg(node.pid, signal.SIGTERM)
        for node in reversed(self.nodes):
            try:
                node.wait(5)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(node.pid, signal.SIGKILL)
                node.wait()
        self.nodes.clear()


def main() -> None:
    """Start a cluster of two worker nodes and wait (Ctrl-C stops it)."""
    with LocalCluster(workers=2, cpus=1, gpus=1) as cluster:
        print(f"Ray cluster at {cluster.address} (logs: {cluster.logs}); Ctrl-C stops it")
        with suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
