"""Image extensions: one assignment's packages and model weights on top of the runtime image.

An app assignment declares ``[service] image = "image"``: a folder with ``requirements.txt``
(extra packages, e.g. gradio, opencv) and ``models/`` (weights baked into the image at
``/opt/models``, given to apps as ``$MODELS_DIR``). ``grade image build --assignment ID``
builds ``dl-grader-runtime-ext:<digest>`` FROM the runtime image and points the alias
``dl-grader-runtime-ext:ID`` at it; the runtime image itself (and so the notebook
assignments' image) is unchanged. Offline, wheels come from the same host-side wheelhouse,
resolved against the runtime's pinned packages, and the build has no network. An instructor
adds real weights (YOLO, open_clip) the same way: ``--models DIR`` copies DIR into
``/opt/models`` too (see docs/services.md).
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sys
import tarfile
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from docker.errors import APIError, DockerException, ImageNotFound

from grader.core.errors import SandboxError
from grader.core.spec import Assignment
from grader.pipeline.services.choose import EXTENSION_REPO, extension_tag
from grader.sandbox.docker.image import (
    PYTHON_VERSION,
    BuildResult,
    Output,
    _follow,
    _ignore,
    _platform_tags,
    _run,
    default_wheelhouse,
    runtime_image_tag,
)

LABEL_EXTENSION = "dl-grader.extension"
MAX_MODELS_BYTES = 4 * 1024**3

DOCKERFILE = """\
# An assignment's extension of the runtime image (made by services/image.py). One stage:
# the layer holds only the new and changed packages (and the wheels used, in /build).
ARG BASE
FROM ${BASE}
USER root
COPY requirements.txt /build/requirements.txt
COPY wheels/ /build/wheels/
RUN set -eu; \\
    /opt/venv/bin/python -m ensurepip >/dev/null 2>&1 || true; \\
    if ls /build/wheels/*.whl >/dev/null 2>&1; then \\
        src="--no-index --find-links /build/wheels"; else src=""; fi; \\
    /opt/venv/bin/python -m pip install --no-cache-dir --disable-pip-version-check $src \\
        -r /build/requirements.txt; \\
    /opt/venv/bin/python -m pip uninstall -y pip >/dev/null 2>&1 || true
COPY models/ /opt/models/
USER 10001:10001
ENV MODELS_DIR=/opt/models
"""


@dataclass(frozen=True)
class Extension:
    """Everything an extension image is made from; its digest names it."""

    assignment: str
    base: str
    base_id: str
    requirements: str
    models: tuple[Path, ...]
    """Folders whose files go to /opt/models (the assignment's, then the instructor's)."""
    models_digest: str

    @property
    def digest(self) -> str:
        data = {
            "dockerfile": DOCKERFILE,
            "base_id": self.base_id,
            "requirements": self.requirements,
            "models": self.models_digest,
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]

    @property
    def tag(self) -> str:
        return f"{EXTENSION_REPO}:{self.digest}"


def load_extension(
    spec: Assignment, *, client: Any, extra_models: Path | None = None, gpu: bool = False
) -> Extension:
    """The extension declared by ``spec`` on top of the current runtime image."""
    if spec.service is None or not spec.service.image:
        raise SandboxError(
            f"assignment '{spec.id}' declares no image extension",
            hint='set [service] image = "image" in its assignment.toml',
        )
    folder = spec.path(spec.service.image)
    base = runtime_image_tag(gpu=gpu)
    try:
        base_image = client.images.get(base)
    except ImageNotFound:
        raise SandboxError(
            f"the runtime image {base} is missing", hint="run `grade image build` first"
        ) from None
    models = tuple(p for p in (folder / "models", extra_models) if p is not None and p.is_dir())
    if extra_models is not None and not extra_models.is_dir():
        raise SandboxError(f"{extra_models} is not a folder", hint="pass a folder of weights")
    return Extension(
        assignment=spec.id,
        base=base,
        base_id=str(base_image.id),
        requirements=_read(folder / "requirements.txt"),
        models=models,
        models_digest=_files_digest(models),
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SandboxError(f"cannot read {path}: {exc.strerror}", hint="create it") from exc


def _model_files(folders: tuple[Path, ...]) -> list[tuple[Path, str]]:
    """(file, name under /opt/models); later folders win on the same name."""
    files: dict[str, Path] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                files[str(path.relative_to(folder))] = path
    return [(path, name) for name, path in sorted(files.items())]


def _files_digest(folders: tuple[Path, ...]) -> str:
    digest = hashlib.sha256()
    total = 0
    for path, name in _model_files(folders):
        total += path.stat().st_size
        if total > MAX_MODELS_BYTES:
            raise SandboxError("the model folders hold more than 4 GiB", hint="bake fewer files")
        digest.update(name.encode() + b"\0")
        with path.open("rb") as file:
            while chunk := file.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def build_extension(
    ext: Extension,
    *,
    client: Any,
    offline: bool,
    wheelhouse: Path | None = None,
    force: bool = False,
    on_output: Output = _ignore,
) -> BuildResult:
    """Build the extension unless its tag exists; point the assignment's alias at it.

    Offline, the wheels the extension needs are gathered on the host first (``pip download``
    into a fresh folder, served from ``wheelhouse`` when there), and only those go into the
    build context; the build itself has no network.
    """
    start = time.monotonic()
    built = force or not _exists(client, ext.tag)
    if built:
        with tempfile.TemporaryDirectory(prefix="dlg-ext-") as tmp:
            wheels = Path(tmp, "wheels")
            if offline:
                house = wheelhouse or default_wheelhouse(variant="cpu")
                gather_wheels(ext, wheels, cache=house, on_output=on_output)
            with tempfile.TemporaryFile() as context:
                write_context(context, ext, wheels=wheels)
                context.seek(0)
                _build(client, ext, context, offline=offline, on_output=on_output)
    alias = extension_tag(ext.assignment)
    client.images.get(ext.tag).tag(*alias.split(":"))
    if built:
        _prune_replaced(client, ext)
    return BuildResult(ext.tag, alias, built, time.monotonic() - start)


def _prune_replaced(client: Any, ext: Extension) -> None:
    """Earlier extensions of the same assignment (kept when a container still uses one)."""
    for image in client.images.list(filters={"label": f"{LABEL_EXTENSION}={ext.assignment}"}):
        if ext.tag not in image.tags:
            with suppress(APIError):
                client.images.remove(image.id)


def _exists(client: Any, tag: str) -> bool:
    try:
        client.images.get(tag)
    except ImageNotFound:
        return False
    return True


def gather_wheels(ext: Extension, out: Path, *, cache: Path, on_output: Output = _ignore) -> None:
    """``pip download`` the extension's wheels (the image's Python and glibc) into ``out``,
    taking them from ``cache`` when there and keeping new downloads there."""
    out.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    req = out.parent / "requirements.txt"
    req.write_text(ext.requirements, encoding="utf-8")
    argv = [
        sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
        "-d", str(out), "-r", str(req), "--find-links", str(cache), "--only-binary=:all:",
        "--python-version", PYTHON_VERSION, "--retries", "1", "--timeout", "30",
    ]  # fmt: skip
    for tag in _platform_tags():
        argv += ["--platform", tag]
    _run(argv, on_output=on_output, hint="is the package index (or find-links) reachable?")
    for wheel in out.glob("*.whl"):
        if not (cache / wheel.name).exists():
            shutil.copyfile(wheel, cache / wheel.name)


def write_context(out: IO[bytes], ext: Extension, *, wheels: Path) -> None:
    """Dockerfile, requirements, wheels/ (only what the build needs), models/."""
    with tarfile.open(fileobj=out, mode="w") as tar:
        _add(tar, "Dockerfile", DOCKERFILE.encode())
        _add(tar, "requirements.txt", ext.requirements.encode())
        _add(tar, "wheels/.keep", b"")
        _add(tar, "models/.keep", b"")
        for wheel in sorted(wheels.glob("*.whl")):
            tar.add(wheel, arcname=f"wheels/{wheel.name}", recursive=False)
        for path, name in _model_files(ext.models):
            info = tar.gettarinfo(str(path), arcname=f"models/{name}")
            info.mode, info.uid, info.gid = 0o644, 0, 0
            with path.open("rb") as file:
                tar.addfile(info, file)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))


def _build(
    client: Any, ext: Extension, context: IO[bytes], *, offline: bool, on_output: Output
) -> None:
    try:
        stream = client.api.build(
            fileobj=context,
            custom_context=True,
            tag=ext.tag,
            buildargs={"BASE": ext.base},
            labels={LABEL_EXTENSION: ext.assignment, "dl-grader.base-id": ext.base_id},
            rm=True,
            forcerm=True,
            pull=False,
            decode=True,
            network_mode="none" if offline else None,
        )
        _follow(stream, on_output)
    except (APIError, DockerException) as exc:
        raise SandboxError(
            f"building the image of '{ext.assignment}' failed: {exc}",
            hint="check that the wheelhouse has a wheel for every requirement (docs/services.md)",
        ) from exc
