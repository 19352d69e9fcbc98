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

from grader.core.outcomes import AppStart
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


def outcome(start: Started, *, port: int, timeout: float) -> AppStart:
    """What the start came to, for ``core.verdict.app_started`` to judge."""
    ended = start.exit
    return AppStart(
        ready=start.state is Start.READY,
        exited=start.state is Start.EXITED,
        exit_code=ended.code if ended is not None else None,
        out_of_memory=ended is not None and ended.out_of_memory,
        egress=tuple(start.egress),
        log_tail=start.log_tail,
        port=port,
        timeout=timeout,
    )
