"""`grade doctor`: each finding, the exit code, the table (no Docker needed)."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from docker.errors import ImageNotFound
from typer.testing import CliRunner

from grader.cli import docker as cli_docker
from grader.sandbox.docker import doctor
from grader.sandbox.docker.doctor import (
    Check,
    check_image,
    check_limits,
    check_nvidia_runtime,
    failed,
)
from grader.sandbox.docker.image import LABEL_FILES, load_recipe


class Images:
    def __init__(self, labels: dict[str, dict[str, str]]) -> None:
        self.labels = labels

    def get(self, tag: str) -> Any:
        if tag not in self.labels:
            raise ImageNotFound(tag)
        return type("Image", (), {"labels": self.labels[tag]})()


class Client:
    def __init__(self, labels: dict[str, dict[str, str]]) -> None:
        self.images = Images(labels)


def test_missing_image_is_required_and_says_how_to_build() -> None:
    check = check_image(Client({}), gpu=False)
    assert not check.ok and check.required
    assert "grade image build" in check.fix and "--offline" in check.fix


def test_stale_image_is_a_warning() -> None:
    check = check_image(Client({"dl-grader-runtime:cpu": {LABEL_FILES: "old"}}), gpu=False)
    assert not check.ok and not check.required and "stale" in check.detail


def test_current_image_is_fine() -> None:
    labels = {LABEL_FILES: load_recipe().files_digest}
    assert check_image(Client({"dl-grader-runtime:cpu": labels}), gpu=False).ok


def test_memory_limits() -> None:
    assert not check_limits({"MemoryLimit": False}).ok
    no_swap = check_limits({"MemoryLimit": True, "SwapLimit": False, "CgroupVersion": "2"})
    assert no_swap.ok and no_swap.fix and not no_swap.required
    assert check_limits({"MemoryLimit": True, "SwapLimit": True}).fix == ""


def test_nvidia_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor.shutil, "which", lambda name: None)
    assert check_nvidia_runtime({"Runtimes": {"nvidia": {}, "runc": {}}}, required=True).ok
    missing = check_nvidia_runtime({"Runtimes": {"runc": {}}}, required=True)
    assert not missing.ok and "nvidia-container-toolkit" in missing.fix


def test_only_required_failures_fail() -> None:
    assert not failed([Check("GPUs", False, "none", "install", required=False)])
    assert failed([Check("Docker engine", False, "down", "start it")])


@pytest.mark.parametrize(("ok", "code"), [(True, 0), (False, 1)])
def test_doctor_exit_code(monkeypatch: pytest.MonkeyPatch, ok: bool, code: int) -> None:
    checks = [Check("Docker engine", ok, "20.10" if ok else "down", "" if ok else "start it")]
    monkeypatch.setattr(doctor, "run_checks", lambda require_gpu: checks)
    app = typer.Typer()
    app.command()(cli_docker.doctor)
    result = CliRunner().invoke(app, [])
    assert result.exit_code == code
    assert "Docker engine" in result.output and ("start it" in result.output) is not ok
