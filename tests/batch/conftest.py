"""Fixtures for batch tests: a course with the tiny assignment and classes assembled from the
fixture notebooks (helpers in batch_classes.py), all under tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_classes import ClassMaker, build_class, make_course

from grader.core.spec import Assignment, load_assignment


@pytest.fixture
def spec(tmp_path: Path) -> Assignment:
    return load_assignment(make_course(tmp_path / "course"))


@pytest.fixture(scope="module")
def module_spec(tmp_path_factory: pytest.TempPathFactory) -> Assignment:
    return load_assignment(make_course(tmp_path_factory.mktemp("course")))


@pytest.fixture
def make_class(tmp_path: Path) -> ClassMaker:
    def make(members: dict[str, str | Path], name: str = "class") -> Path:
        return build_class(tmp_path / name, members)

    return make
