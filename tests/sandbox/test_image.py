"""The runtime image's recipe, tag and build steps (fake Docker client; no engine needed)."""

from __future__ import annotations

import io
import tarfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from docker.errors import ImageNotFound
from requests.exceptions import ReadTimeout

from grader.core.errors import SandboxError
from grader.sandbox.docker.image import (
    LABEL_FILES,
    RECIPE_DIR,
    Recipe,
    build_image,
    load_recipe,
    pip_download_command,
    runtime_image_tag,
    write_context,
)


@pytest.fixture
def recipe() -> Recipe:
    return load_recipe()


class FakeImage:
    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = labels
        self.tags: list[str] = []
        self.id = "sha256:fake"

    def tag(self, repository: str, tag: str) -> None:
        self.tags.append(f"{repository}:{tag}")


class FakeImages:
    def __init__(self) -> None:
        self.images: dict[str, FakeImage] = {}

    def get(self, name: str) -> FakeImage:
        if name not in self.images:
            raise ImageNotFound(name)
        return self.images[name]

    def prune(self, filters: dict[str, Any]) -> None:
        pass

    def list(self, filters: dict[str, Any]) -> list[FakeImage]:
        return []


class FakeApi:
    def __init__(self, images: FakeImages, stream: list[dict[str, Any]]) -> None:
        self.images = images
        self.stream = stream
        self.calls: list[dict[str, Any]] = []

    def build(self, **kwargs: Any) -> Any:
        self.calls.append({**kwargs, "context": kwargs["fileobj"].read()})
        if not any("error" in chunk for chunk in self.stream):
            self.images.images[kwargs["tag"]] = FakeImage(kwargs["labels"])
        return iter(self.stream)


class FakeClient:
    def __init__(self, stream: list[dict[str, Any]] | None = None) -> None:
        self.images = FakeImages()
        self.api = FakeApi(self.images, stream or [{"stream": "Step 1/1\n"}])


def test_recipe_reads_the_repository_files(recipe: Recipe) -> None:
    assert recipe.dockerfile == (RECIPE_DIR / "Dockerfile").read_text()
    assert recipe.requirements == (RECIPE_DIR / "requirements.txt").read_text()
    pins = recipe.requirements.splitlines()
    torch = next(line for line in pins if line.startswith("torch=="))
    assert torch.endswith("+cpu")
    gpu = load_recipe(gpu=True).requirements.splitlines()
    assert [line for line in gpu if line.startswith("torch==")] == [torch.removesuffix("+cpu")]
    assert len(gpu) == len(pins)


def test_host_and_image_agree() -> None:
    """The image's pins are the host lock's (scripts/lock makes both)."""
    host = _pins(RECIPE_DIR.parents[3] / "requirements" / "py3.11.txt")
    image = _pins(RECIPE_DIR / "requirements.txt")
    kernel = {"ipykernel", "numpy", "scikit-learn", "pandas", "matplotlib", "safetensors", "torch"}
    assert kernel <= image.keys()
    assert {name: host.get(name) for name in image} == image


def _pins(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    pairs = [line.split("==", 1) for line in lines if "==" in line and not line.startswith("#")]
    return {name.strip(): version.strip() for name, version in pairs}


def test_tag_is_a_hash_of_the_inputs(recipe: Recipe) -> None:
    assert recipe.tag == f"dl-grader-runtime:{recipe.digest}"
    assert len(recipe.digest) == 12
    assert load_recipe().tag == recipe.tag  # stable


@pytest.mark.parametrize(
    "change",
    [
        {"dockerfile": "FROM scratch\n"},
        {"requirements": "numpy==1.0\n"},
        {"base": "debian:bookworm"},
        {"variant": "gpu"},
        {"offline": True},
        {"torch_index": "https://example.org/simple"},
    ],
)
def test_any_input_changes_the_tag(recipe: Recipe, change: dict[str, Any]) -> None:
    assert replace(recipe, **change).tag != recipe.tag


def test_files_digest_ignores_the_base(recipe: Recipe) -> None:
    assert replace(recipe, base="other").files_digest == recipe.files_digest
    assert replace(recipe, requirements="x").files_digest != recipe.files_digest


def test_alias_is_stable_per_variant(recipe: Recipe) -> None:
    assert recipe.alias == runtime_image_tag() == "dl-grader-runtime:cpu"
    assert load_recipe(gpu=True).alias == runtime_image_tag(gpu=True) == "dl-grader-runtime:gpu"


def test_offline_recipe_uses_the_debootstrap_base_and_no_index() -> None:
    offline = load_recipe(offline=True)
    assert offline.base == "dl-grader-base:bookworm"
    assert offline.build_args() == {
        "BASE": "dl-grader-base:bookworm",
        "TORCH_INDEX": "",
        "VARIANT": "cpu",
    }
    assert load_recipe().build_args()["TORCH_INDEX"].startswith("https://download.pytorch.org")


def test_context_holds_dockerfile_requirements_and_wheels(recipe: Recipe, tmp_path: Path) -> None:
    (tmp_path / "a-1.0-py3-none-any.whl").write_bytes(b"wheel")
    (tmp_path / "notes.txt").write_text("not a wheel")
    buffer = io.BytesIO()
    write_context(buffer, recipe=recipe, wheelhouse=tmp_path)
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as tar:
        names = set(tar.getnames())
        requirements = tar.extractfile("requirements.txt").read().decode()  # type: ignore[union-attr]
    assert names == {
        "Dockerfile",
        "requirements.txt",
        "wheels/.keep",
        "wheels/a-1.0-py3-none-any.whl",
    }
    assert requirements == recipe.requirements


def test_pip_download_targets_the_image_python(tmp_path: Path) -> None:
    argv = pip_download_command(
        recipe=load_recipe(offline=True), wheelhouse=tmp_path, requirements=tmp_path / "r.txt"
    )
    assert argv[argv.index("--python-version") + 1] == "3.11"
    assert "--only-binary=:all:" in argv
    platforms = [argv[i + 1] for i, a in enumerate(argv) if a == "--platform"]
    assert platforms[0].startswith("manylinux_2_36_")
    assert "--extra-index-url" not in argv  # offline: the host's pip configuration only
    online = pip_download_command(recipe=load_recipe(), wheelhouse=tmp_path, requirements=tmp_path)
    assert "--extra-index-url" in online


def test_build_labels_tags_and_aliases(recipe: Recipe) -> None:
    client = FakeClient()
    result = build_image(recipe=recipe, client=client)  # type: ignore[arg-type]
    assert result.built and result.tag == recipe.tag
    (call,) = client.api.calls
    assert call["tag"] == recipe.tag and call["custom_context"] and call["pull"] is False
    assert call["buildargs"]["BASE"] == "python:3.11-slim"
    assert call["labels"][LABEL_FILES] == recipe.files_digest
    assert client.images.get(recipe.tag).tags == ["dl-grader-runtime:cpu"]


def test_a_busy_engine_does_not_fail_a_finished_build(
    recipe: Recipe, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clean-up after a build is best effort (seen: a prune timed out on a loaded engine)."""
    client = FakeClient()

    def timed_out(filters: dict[str, Any]) -> None:
        raise ReadTimeout("Read timed out. (read timeout=30)")

    monkeypatch.setattr(client.images, "prune", timed_out)
    result = build_image(recipe=recipe, client=client)  # type: ignore[arg-type]
    assert result.built and client.images.get(recipe.tag).tags == ["dl-grader-runtime:cpu"]


def test_build_is_skipped_when_the_tag_exists(recipe: Recipe) -> None:
    client = FakeClient()
    client.images.images[recipe.tag] = FakeImage({})
    result = build_image(recipe=recipe, client=client)  # type: ignore[arg-type]
    assert not result.built and client.api.calls == []
    assert client.images.get(recipe.tag).tags == ["dl-grader-runtime:cpu"]


def test_build_error_is_a_sandbox_error(recipe: Recipe) -> None:
    client = FakeClient(stream=[{"stream": "Step 1\n"}, {"error": "pip: no matching dist"}])
    with pytest.raises(SandboxError) as info:
        build_image(recipe=recipe, client=client)  # type: ignore[arg-type]
    assert "no matching dist" in info.value.message
    assert "--offline" in info.value.hint


def test_offline_build_without_base_says_what_to_do(tmp_path: Path) -> None:
    recipe = load_recipe(offline=True, base="my-base:1")
    with pytest.raises(SandboxError) as info:
        build_image(recipe=recipe, client=FakeClient(), wheelhouse=tmp_path)  # type: ignore[arg-type]
    assert "my-base:1" in info.value.message


@pytest.mark.slow
def test_the_recipe_ships_in_the_wheel(tmp_path: Path) -> None:
    """A pip-installed grader can build its image: the recipe is package data."""
    import shutil
    import subprocess
    import sys
    import zipfile

    root, src = Path(__file__).resolve().parents[2], tmp_path / "src"
    shutil.copytree(root / "grader", src / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, src / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(src)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("dl_grader-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("Dockerfile", "requirements.txt", "build-offline-base.sh"):
        assert f"grader/sandbox/docker/recipe/{name}" in names
