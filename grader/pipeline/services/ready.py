"""Waiting for an app to answer, with a deadline, and the verdict when it never does.

The caller owns this bookkeeping, whatever the backend: poll the app over its socket until
any HTTP answer comes back (a 404 is an answer: the server is up), the app exits, or the
deadline passes. An app that did not start and tried to reach the internet on the way gets
the verdict that names it: a sandbox has no network, so weights must come with the
submission or the image.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from enum import StrEnum

import httpx

from grader.core.results import Status
from grader.pipeline.services.base import RunningService, ServiceExit, egress_attempts
from grader.pipeline.services.http import client

POLL = 0.25
"""Seconds between two readiness probes."""


class Start(StrEnum):
    READY = "ready"
    EXITED = "exited"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class Started:
    """How starting an app went."""

    state: Start
    seconds: float
    exit: ServiceExit | None = None
    egress: list[str] = field(default_factory=list)
    """Internet destinations the app tried to reach (from the sandbox's audit hook)."""
    log_tail: str = ""


def wait_ready(service: RunningService, *, path: str, timeout: float) -> Started:
    """Poll ``path`` until the app answers, exits, or ``timeout`` seconds pass."""
    started = time.monotonic()
    with client(service.socket, timeout=min(5.0, timeout)) as http:
        while True:
            ended = service.exited()
            if ended is not None:
                return _outcome(service, Start.EXITED, started, ended)
            if _answers(http, path):
                return Started(Start.READY, time.monotonic() - started)
            if time.monotonic() - started > timeout:
                return _outcome(service, Start.TIMEOUT, started, None)
            time.sleep(POLL)


def _answers(http: httpx.Client, path: str) -> bool:
    try:
        http.get(path)
    except (httpx.TransportError, httpx.DecodingError):
        return False
    return True


def _outcome(
    service: RunningService, state: Start, started: float, ended: ServiceExit | None
) -> Started:
    log = service.logs()
    return Started(
        state, time.monotonic() - started, ended, egress_attempts(log), _tail(log, lines=6)
    )


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x1b]")


def _tail(log: str, *, lines: int, width: int = 160) -> str:
    """The last lines of the app's output, as plain text (no control characters), bounded."""
    kept = [
        _CONTROL.sub("", line)[:width]
        for line in log.splitlines()
        if line.strip() and not line.startswith("dl-grader:")
    ]
    return "\n".join(kept[-lines:])


def verdict(start: Started, *, port: int, timeout: float) -> tuple[Status, str]:
    """The one place that turns how an app started into a status and a message."""
    if start.state is Start.READY:
        return Status.GRADED, "graded"
    shown = f"; its last output:\n{start.log_tail}" if start.log_tail else ""
    if start.egress:
        where = ", ".join(start.egress[:3])
        return Status.NETWORK_ACCESS, (
            f"the app tried to reach the internet ({where}) and did not start: weights must be "
            "in the submission or the image; the sandbox has no network" + shown
        )
    if start.exit is not None and start.exit.out_of_memory:
        return Status.OUT_OF_MEMORY, "the app used more memory than allowed and was stopped"
    if start.state is Start.EXITED:
        code = start.exit.code if start.exit is not None else None
        return Status.CRASHED, (
            f"the app exited (status {code}) before it answered HTTP; run it yourself with "
            "`python app.py` and read the error" + shown
        )
    return Status.TIMEOUT, (
        f"the app did not answer HTTP on port {port} within {timeout:g} s: does it listen on "
        "the port in $PORT (host 0.0.0.0 or 127.0.0.1), and does it start quickly?" + shown
    )
