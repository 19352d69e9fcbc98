"""Fixtures of the service tests: the tiny_app fixture assignment and its fixture apps."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.core.spec import Assignment, load_assignment

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
APPS = FIXTURES / "apps"
"""Fixture apps (stdlib only), named by what they do; each becomes a submission's app.py."""


@pytest.fixture(scope="session")
def tiny_app() -> Assignment:
    spec = load_assignment(FIXTURES / "assignments" / "tiny_app")
    assert spec.service is not None
    quick = spec.service.model_copy(update={"start_timeout": 6.0})
    return spec.model_copy(update={"service": quick})


@pytest.fixture
def submission(tmp_path: Path) -> Callable[[str], Path]:
    """``submission("echo_ok")``: a submission folder whose app.py is that fixture app."""

    def make(name: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        shutil.copyfile(APPS / f"{name}.py", folder / "app.py")
        return folder

    return make
