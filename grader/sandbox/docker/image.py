"""The runtime image of :class:`grader.sandbox.docker.DockerSandbox`: recipe, tag and build.

A :class:`Recipe` is everything the image is made from (Dockerfile, requirement list, base,
variant, online or offline). Its digest names the image, ``dl-grader-runtime:<digest>``, so a
build is skipped when that tag exists and any change of an input makes a new one. The stable
alias ``dl-grader-runtime:cpu`` (or ``:gpu``) points at the latest build; DockerSandbox uses it.

Offline (no registry, no index): the base is a ``debootstrap``-ed Debian bookworm imported with
``docker import`` (``recipe/build-offline-base.sh``) and the packages come from a wheelhouse that
``pip download`` fills on the host, installed in the image with ``--no-index``. The recipe ships
inside the package, so a pip-installed grader can build its image.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import platform
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from docker import DockerClient
from docker.errors import APIError, DockerException, ImageNotFound
from requests.exceptions import RequestException

from grader.core.errors import SandboxError
from grader.sandbox.docker.engine import docker_errors

Variant = Literal["cpu", "gpu"]

RECIPE_DIR = Path(__file__).resolve().parent / "recipe"
"""Dockerfile, requirement list and base script (package data: ``grader/sandbox/docker/recipe``)."""
RUNTIME_REPO = "dl-grader-runtime"
DEFAULT_BASE = "python:3.11-slim"
OFFLINE_BASE = "dl-grader-base:bookworm"
PYTHON_VERSION = "3.11"
OFFLINE_GLIBC = 36
"""glibc minor version of Debian bookworm: wheels for the offline image must not need newer."""
TORCH_INDEX = {"cpu": "https://download.pytorch.org/whl/cpu", "gpu": ""}
RECIPE_VERSION = "1"
"""Bump to force new tags when the way images are built changes outside the inputs."""

LABEL_RUNTIME = "dl-grader.runtime"
LABEL_RECIPE = "dl-grader.recipe"
LABEL_FILES = "dl-grader.pipeline.files"
LABEL_VARIANT = "dl-grader.variant"
LABEL_STAGE = "dl-grader.stage"

Output = Callable[[str], None]


def _ignore(_: str) -> None:
    return None


@dataclass(frozen=True)
class Recipe:
    """Everything a runtime image is built from; its digest names the image."""

    base: str
    variant: Variant
    offline: bool
    dockerfile: str
    requirements: str
    torch_index: str = ""
    """Extra package index for torch (online builds; the CPU build is not on PyPI)."""

    @property
    def files_digest(self) -> str:
        """Digest of the Dockerfile and requirements only (tells a stale image)."""
        return _digest({"dockerfile": self.dockerfile, "requirements": self.requirements})

    @property
    def digest(self) -> str:
        return _digest(
            {
                "version": RECIPE_VERSION,
                "files": self.files_digest,
                "base": self.base,
                "variant": self.variant,
                "offline": self.offline,
                "torch_index": self.torch_index,
            }
        )

    @property
    def tag(self) -> str:
        return f"{RUNTIME_REPO}:{self.digest}"

    @property
    def alias(self) -> str:
        return runtime_image_tag(gpu=self.variant == "gpu")

    def build_args(self) -> dict[str, str]:
        torch_index = "" if self.offline else self.torch_index
        return {"BASE": self.base, "TORCH_INDEX": torch_index, "VARIANT": self.variant}

    def labels(self) -> dict[str, str]:
        return {
            LABEL_RUNTIME: "1",
            LABEL_RECIPE: self.digest,
            LABEL_FILES: self.files_digest,
            LABEL_VARIANT: self.variant,
            "dl-grader.base": self.base,
        }


@dataclass(frozen=True)
class BuildResult:
    tag: str
    alias: str
    built: bool
    """False when an image with the recipe's tag already existed."""
    seconds: float


def _digest(data: dict[str, Any]) -> str:
    blob = json.dumps(data, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def runtime_image_tag(*, gpu: bool = False) -> str:
    """The image DockerSandbox runs by default: the alias of the latest build."""
    return f"{RUNTIME_REPO}:{'gpu' if gpu else 'cpu'}"


def load_recipe(
    *,
    gpu: bool = False,
    offline: bool = False,
    base: str | None = None,
    torch_index: str | None = None,
    docker_dir: Path = RECIPE_DIR,
) -> Recipe:
    """The recipe of the runtime image from the files in ``docker_dir``."""
    variant: Variant = "gpu" if gpu else "cpu"
    try:
        dockerfile = (docker_dir / "Dockerfile").read_text(encoding="utf-8")
        common = (docker_dir / "requirements.txt").read_text(encoding="utf-8")
    except OSError as exc:
        raise SandboxError(
            f"cannot read the image recipe in {docker_dir}: {exc.strerror}",
            hint="the recipe ships inside the grader package: reinstall it (pip install dl-grader)",
        ) from exc
    return Recipe(
        base=base or (OFFLINE_BASE if offline else DEFAULT_BASE),
        variant=variant,
        offline=offline,
        dockerfile=dockerfile,
        requirements=requirements_of(common, variant),
        torch_index=_torch_index(variant, offline) if torch_index is None else torch_index,
    )


def requirements_of(locked: str, variant: Variant) -> str:
    """The image's pins (``recipe/requirements.txt``, made by ``scripts/lock`` with
    torch's CPU build) for ``variant``: a gpu image takes the same torch release, CUDA build."""
    if variant == "cpu":
        return locked
    lines = locked.splitlines(keepends=True)
    return "".join(re.sub(r"^(torch==[^+\s;]+)\+\w+", r"\1", line) for line in lines)


def _torch_index(variant: Variant, offline: bool) -> str:
    """Online, the variant's index; offline, none (only the host's pip configuration)."""
    return "" if offline else TORCH_INDEX[variant]


def image_labels(client: DockerClient, tag: str) -> dict[str, str] | None:
    """Labels of a local image, or None when there is no such image."""
    try:
        image = client.images.get(tag)
    except ImageNotFound:
        return None
    return dict(image.labels or {})


def build_image(
    *,
    recipe: Recipe,
    client: DockerClient,
    wheelhouse: Path | None = None,
    force: bool = False,
    on_output: Output = _ignore,
) -> BuildResult:
    """Build the recipe's image unless its tag exists; point the alias at it either way.

    Offline, first makes what is missing: the base image (root) and the wheelhouse.
    """
    start = time.monotonic()
    built = force or image_labels(client, recipe.tag) is None
    if built:
        if recipe.offline:
            wheelhouse = wheelhouse or default_wheelhouse(variant=recipe.variant)
            prepare_offline(
                recipe=recipe, client=client, wheelhouse=wheelhouse, on_output=on_output
            )
        with tempfile.TemporaryFile() as context:
            write_context(context, recipe=recipe, wheelhouse=wheelhouse if recipe.offline else None)
            context.seek(0)
            _run_build(client, recipe=recipe, context=context, on_output=on_output)
    client.images.get(recipe.tag).tag(*recipe.alias.split(":"))
    if built:
        _prune_old_images(client, recipe)
    return BuildResult(recipe.tag, recipe.alias, built, time.monotonic() - start)


def prepare_offline(
    *, recipe: Recipe, client: DockerClient, wheelhouse: Path, on_output: Output = _ignore
) -> None:
    """Make the offline build's inputs: the base image (when it is ours) and the wheelhouse."""
    if image_labels(client, recipe.base) is None:
        if recipe.base != OFFLINE_BASE:
            raise SandboxError(
                f"base image {recipe.base} is missing",
                hint=f"load or build it first, or leave out --base to use {OFFLINE_BASE}",
            )
        build_offline_base(name=recipe.base, on_output=on_output)
    if not fill_wheelhouse(recipe=recipe, wheelhouse=wheelhouse, on_output=on_output):
        raise SandboxError(
            f"the wheelhouse {wheelhouse} holds no wheels",
            hint="check the host's pip configuration (`pip config list`)",
        )


def write_context(out: IO[bytes], *, recipe: Recipe, wheelhouse: Path | None) -> None:
    """The build context as a tar: Dockerfile, requirements.txt, wheels/ (maybe empty)."""
    with tarfile.open(fileobj=out, mode="w", dereference=True) as tar:
        _add_bytes(tar, "Dockerfile", recipe.dockerfile.encode())
        _add_bytes(tar, "requirements.txt", recipe.requirements.encode())
        _add_bytes(tar, "wheels/.keep", b"")
        for wheel in _wheels(wheelhouse):
            tar.add(wheel, arcname=f"wheels/{wheel.name}", recursive=False)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _wheels(wheelhouse: Path | None) -> list[Path]:
    if wheelhouse is None or not wheelhouse.is_dir():
        return []
    return sorted(p for p in wheelhouse.iterdir() if p.suffix == ".whl" and p.is_file())


def _run_build(
    client: DockerClient, *, recipe: Recipe, context: IO[bytes], on_output: Output
) -> None:
    with docker_errors("image build failed", hint=_build_hint(recipe)):
        stream = client.api.build(
            fileobj=context,
            custom_context=True,
            tag=recipe.tag,
            buildargs=recipe.build_args(),
            labels=recipe.labels(),
            rm=True,
            forcerm=True,
            pull=False,
            decode=True,
            network_mode="none" if recipe.offline else None,
        )
        _follow(stream, on_output)


def _prune_old_images(client: DockerClient, recipe: Recipe) -> None:
    """Drop the build stage the classic builder keeps, and runtime images this one replaces.
    Best effort: a busy engine (a prune already running, a read time-out) only delays it."""
    with contextlib.suppress(APIError, RequestException):
        client.images.prune(filters={"dangling": True, "label": f"{LABEL_STAGE}=build"})
    ours = [f"{LABEL_RUNTIME}=1", f"{LABEL_VARIANT}={recipe.variant}"]
    for image in client.images.list(filters={"label": ours}):
        if recipe.tag not in image.tags:
            with contextlib.suppress(APIError):  # in use by a container: kept
                client.images.remove(image.id)


def _follow(stream: Iterator[dict[str, Any]], on_output: Output) -> None:
    for chunk in stream:
        if "error" in chunk:
            raise DockerException(str(chunk["error"]).strip())
        text = str(chunk.get("stream", "")).rstrip()
        if text:
            on_output(text)


def _build_hint(recipe: Recipe) -> str:
    if recipe.offline:
        return "check that the wheelhouse has a wheel for every requirement (see docs/docker.md)"
    return "no registry or index reachable? use `grade image build --offline` (docs/docker.md)"


def default_wheelhouse(*, variant: Variant) -> Path:
    """Where ``grade image build --offline`` keeps downloaded wheels."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "dl-grader" / f"wheelhouse-{variant}"


def fill_wheelhouse(*, recipe: Recipe, wheelhouse: Path, on_output: Output = _ignore) -> int:
    """``pip download`` every wheel the recipe needs into ``wheelhouse``; the wheel count.

    Uses the host's pip configuration (indexes, find-links); wheels already there are kept.
    Only the recipe's ``torch_index`` is added, and only when it is set.
    """
    wheelhouse.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as req:
        req.write(recipe.requirements)
    try:
        _run(
            pip_download_command(recipe=recipe, wheelhouse=wheelhouse, requirements=Path(req.name)),
            on_output=on_output,
            hint="is the package index (or find-links folder) reachable?",
        )
    finally:
        os.unlink(req.name)
    return len(_wheels(wheelhouse))


def pip_download_command(*, recipe: Recipe, wheelhouse: Path, requirements: Path) -> list[str]:
    """The ``pip download`` of the recipe's wheels for the image's Python and glibc."""
    argv = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "-d",
        str(wheelhouse),
        "-r",
        str(requirements),
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
        "--retries",
        "1",
        "--timeout",
        "30",
    ]
    for tag in _platform_tags():
        argv += ["--platform", tag]
    if recipe.torch_index:
        argv += ["--extra-index-url", recipe.torch_index]
    return argv


def _platform_tags() -> list[str]:
    """manylinux tags the image's glibc (bookworm) can load, newest first."""
    arch = platform.machine()
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(OFFLINE_GLIBC, 4, -1)]
    return [*tags, f"manylinux2014_{arch}", f"manylinux2010_{arch}", f"manylinux1_{arch}"]


def build_offline_base(*, name: str = OFFLINE_BASE, on_output: Output = _ignore) -> None:
    """Make the registry-free base image with ``recipe/build-offline-base.sh`` (root)."""
    script = RECIPE_DIR / "build-offline-base.sh"
    if os.geteuid() != 0:
        raise SandboxError(
            f"base image {name} is missing and building it needs root",
            hint=f"run `sudo {script} {name}`, then this command again",
        )
    _run(["bash", str(script), name], on_output=on_output, hint="see docs/docker.md, offline build")


def _run(argv: list[str], *, on_output: Output, hint: str) -> None:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    tail: list[str] = []
    for line in proc.stdout:
        on_output(line.rstrip())
        tail = [*tail[-19:], line.rstrip()]
    if proc.wait() != 0:
        shown = "\n".join(tail[-8:])
        raise SandboxError(f"`{' '.join(argv[:4])} ...` failed:\n{shown}", hint=hint)
