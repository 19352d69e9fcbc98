"""What an app assignment's tests get: the ``app`` fixture (HTTP to the running app, its
output, a browser on its page, and a second app from the student's own image)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from grader.core.errors import GraderError
from grader.core.lang import Language
from grader.core.verdict import app_started
from grader.pipeline.services.base import RunningService, ServiceHost, ServiceRequest
from grader.pipeline.services.browser import Visit, browser_available, browser_page
from grader.pipeline.services.http import client
from grader.pipeline.services.proxy import loopback_proxy
from grader.pipeline.services.ready import Start, outcome, wait_ready


@dataclass
class Clock:
    """Seconds spent by kind of check (for the benchmark): http, browser, image."""

    spent: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def timing(self, kind: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.spent[kind] = self.spent.get(kind, 0.0) + time.monotonic() - started


class App:
    """A running app as the tests see it."""

    def __init__(
        self,
        service: RunningService,
        *,
        host: ServiceHost,
        request: ServiceRequest,
        request_timeout: float,
        clock: Clock | None = None,
        start_timeout: float = 120.0,
        budget: float = float("inf"),
        language: Language = "en",
    ) -> None:
        """``budget``: seconds all the checks may take together (the spec's total_timeout);
        once spent, every request fails at once, so a slow app cannot stall a batch;
        ``language``: the course's, for what a failed start of the app's own image says."""
        self.language = language
        self.service = service
        self.host = host
        self.request_spec = request
        self.clock = clock or Clock()
        self._timeout = request_timeout
        self.start_timeout = start_timeout
        self._deadline = time.monotonic() + budget
        self.http: httpx.Client = client(service.socket, timeout=request_timeout)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        with self.clock.timing("http"):
            return self.http.get(path, timeout=self._left(), **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        with self.clock.timing("http"):
            return self.http.post(path, timeout=self._left(), **kwargs)

    def _left(self) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the time for checking this app is used up (the app is too slow)")
        return min(self._timeout, left)

    def alive(self) -> bool:
        return self.service.exited() is None

    def logs(self) -> str:
        return self.service.logs()

    @contextmanager
    def page(self, path: str = "/") -> Iterator[tuple[Any, Visit]]:
        """A sandboxed browser tab on the app's page (see services/browser.py); the test
        is skipped where no browser is installed (say, a student's machine)."""
        missing = browser_available()
        if missing:
            pytest.skip(f"the browser check runs at grading ({missing})")
        with (
            self.clock.timing("browser"),
            loopback_proxy(self.service.socket) as url,
            browser_page(url, timeout_s=self._timeout) as (page, visit),
        ):
            page.goto(url + path, wait_until="load")
            yield page, visit

    @contextmanager
    def own_image(self, *, timeout_s: float = 600) -> Iterator[App]:
        """The submission's own Dockerfile, built on the course image and started like this
        app (Docker only): yields the second app. Raises ImageRefused or ServiceFailed."""
        from grader.pipeline.services.docker import DockerServices
        from grader.pipeline.services.own_image import student_image

        host, request = self.host, self.request_spec
        course_image = request.image
        if not isinstance(host, DockerServices) or course_image is None:
            pytest.skip("a submission's own image is built only with the Docker backend")
        with (
            self.clock.timing("image"),
            student_image(
                request.workdir,
                client=host.client,
                course_image=course_image,
                memory_mb=request.limits.memory_mb,
                timeout_s=timeout_s,
            ) as tag,
            host.service(replace(request, image=tag, entrypoint_from_image=True)) as running,
        ):
            start = wait_ready(running, path="/", timeout=self.start_timeout)
            if start.state is not Start.READY:
                found = outcome(start, port=request.port, timeout=self.start_timeout)
                raise ServiceFailed(app_started(found, self.language).message)
            other = App(
                running,
                host=host,
                request=request,
                request_timeout=self._timeout,
                language=self.language,
            )
            try:
                yield other
            finally:
                other.close()

    def close(self) -> None:
        self.http.close()


class ServiceFailed(GraderError):
    """A second app (the student's own image) did not start."""


@dataclass(eq=False)
class AppPlugin:
    """Registered next to the grader's pytest plugin for app assignments."""

    running: App | None

    @pytest.fixture(scope="session")
    def app(self) -> App:
        if self.running is None:
            pytest.skip("the app runs only at grading")
        return self.running


def artifact(folder: Path, name: str, data: bytes) -> Path:
    """Save a picture for the feedback (a screenshot)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path
