"""Fixtures of the sandbox tests: a fake Docker client, and the real engine for docker tests.

The ``docker_engine`` fixture (the real engine) is in tests/conftest.py, shared with
tests/services.
"""

from __future__ import annotations

from typing import Any

import pytest
from docker.errors import ImageNotFound


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
