"""Fixtures of the sandbox tests: a fake Docker client, and the real engine for docker tests.

Tests marked ``docker`` are skipped when no engine (or no runtime image) is there, except
in CI (``CI=true``), where a missing engine or image is a failure: CI must run them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from docker.errors import ImageNotFound

from grader.core.errors import SandboxError
from grader.sandbox.docker.image import runtime_image_tag


class FakeContainer:
    """Records what is done to it; ``attrs`` is what ``reload`` would fetch."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.id = "f" * 64
        self.name = config.get("name", "fake")
        self.labels = dict(config.get("labels", {}))
        self.attrs: dict[str, Any] = {"State": {"Status": "created", "OOMKilled": False}}
        self.kills: list[int | None] = []
        self.removed = False

    def reload(self) -> None:
        if self.removed:
            from docker.errors import NotFound

            raise NotFound("gone")

    def start(self) -> None:
        self.attrs["State"]["Status"] = "running"

    def kill(self, signal: int | None = None) -> None:
        self.kills.append(signal)

    def remove(self, force: bool = False) -> None:
        assert force
        self.removed = True


class FakeContainers:
    def __init__(self) -> None:
        self.created: list[FakeContainer] = []

    def create(self, **config: Any) -> FakeContainer:
        container = FakeContainer(config)
        self.created.append(container)
        return container

    def list(self, all: bool = False, filters: dict[str, Any] | None = None) -> list[FakeContainer]:
        return [c for c in self.created if not c.removed]


class FakeImages:
    def __init__(self, present: set[str]) -> None:
        self.present = present

    def get(self, tag: str) -> object:
        if tag not in self.present:
            raise ImageNotFound(f"No such image: {tag}")
        return object()


class FakeDockerClient:
    """The part of ``docker.DockerClient`` DockerSandbox uses."""

    def __init__(self, images: set[str] | None = None) -> None:
        self.containers = FakeContainers()
        self.images = FakeImages(images if images is not None else {"img:test"})


@pytest.fixture
def fake_docker() -> FakeDockerClient:
    return FakeDockerClient()


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Any]:
    """A client of the running engine that has the runtime image; skip (fail in CI) if not."""
    from grader.sandbox.docker import connect

    try:
        client = connect(timeout=10)
        client.images.get(runtime_image_tag())
    except (SandboxError, ImageNotFound) as exc:
        message = f"Docker tests need an engine and the runtime image: {exc}"
        if _in_ci():
            pytest.fail(f"{message} (CI=true: run scripts/ci-docker.sh first)")
        pytest.skip(message)
    yield client
    client.close()
