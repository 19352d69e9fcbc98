"""A student's own Docker image (a bonus of app assignments), built safely and run like any app.

The Dockerfile must start ``FROM`` the course's image (given as build argument
``COURSE_IMAGE``, or written out); no other base is allowed, so nothing is pulled. The build
has no network (``network_mode=none``: ``pip install`` from an index fails, as it would on an
air-gapped grader), a memory and CPU cap, and a time limit; the image is removed afterwards.
The container then runs under the same settings as every app, the image's own ENTRYPOINT/CMD
behind the forwarder.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from docker.errors import APIError, DockerException, ImageNotFound
from requests.exceptions import RequestException

from grader.core.errors import GraderError
from grader.sandbox.docker.image import _follow

DOCKERFILE = "Dockerfile"
BUILD_ARG = "COURSE_IMAGE"
STUDENT_REPO = "dl-grader-student"
LABEL = "dl-grader.student-image"
_FROM = re.compile(
    r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(?P<stage>\S+))?\s*$", re.I | re.M
)
_READS = re.compile(r"--(?:from|mount=(?:\S*,)?from)=([^\s,]+)", re.I)
"""Another image read by COPY --from=IMAGE or RUN --mount=...,from=IMAGE (a stage index is a
number, a stage name was declared by an earlier FROM ... AS)."""


class ImageRefused(GraderError):
    """The student's Dockerfile is missing, uses another base, or does not build."""


def check_dockerfile(text: str, *, course_image: str) -> None:
    """Every image the build reads (``FROM``, ``COPY --from``, ``RUN --mount=from=``) is the
    course image or an earlier stage: the Docker engine would fetch any other one itself, past
    the build's ``--network none``. Raise ImageRefused if not."""
    allowed = {course_image, f"${{{BUILD_ARG}}}", f"${BUILD_ARG}"}
    stages: set[str] = set()
    froms = list(_FROM.finditer(text))
    if not froms:
        raise ImageRefused(
            "the Dockerfile has no FROM line", hint=f"start with FROM {course_image}"
        )
    for match in sorted([*froms, *_READS.finditer(text)], key=lambda m: m.start()):
        base, stage = match.group(1), match.groupdict().get("stage")
        if base not in allowed and base.lower() not in stages and not base.isdigit():
            raise ImageRefused(
                f"the Dockerfile builds from {base[:80]}; only the course image is allowed",
                hint=f"use FROM ${{{BUILD_ARG}}} (the grader passes {course_image})",
            )
        if stage:
            stages.add(stage.lower())


@contextmanager
def student_image(
    folder: Path,
    *,
    client: Any,
    course_image: str,
    memory_mb: int,
    timeout_s: float,
) -> Iterator[str]:
    """Build ``folder/Dockerfile`` (no network, limits); yield the tag; remove it after."""
    dockerfile = folder / DOCKERFILE
    if not dockerfile.is_file() or dockerfile.is_symlink():
        raise ImageRefused("the submission has no Dockerfile", hint="add one (see the README)")
    check_dockerfile(
        dockerfile.read_text(encoding="utf-8", errors="replace"), course_image=course_image
    )
    digest = hashlib.sha256(dockerfile.read_bytes() + str(folder).encode()).hexdigest()[:12]
    tag = f"{STUDENT_REPO}:{digest}"
    try:
        _build(folder, client=client, tag=tag, course_image=course_image, memory_mb=memory_mb,
               timeout_s=timeout_s)  # fmt: skip
        yield tag
    finally:
        with suppress(ImageNotFound, APIError, DockerException, RequestException):
            client.images.remove(tag, force=True)


def _build(
    folder: Path, *, client: Any, tag: str, course_image: str, memory_mb: int, timeout_s: float
) -> None:
    failure: list[BaseException] = []

    def run() -> None:
        try:
            stream = client.api.build(
                path=str(folder),
                dockerfile=DOCKERFILE,
                tag=tag,
                buildargs={BUILD_ARG: course_image},
                labels={LABEL: "1"},
                network_mode="none",
                pull=False,
                rm=True,
                forcerm=True,
                decode=True,
                container_limits={
                    "memory": memory_mb << 20,
                    "memswap": memory_mb << 20,
                    "cpushares": 512,
                },
                timeout=int(timeout_s),
            )
            _follow(stream, lambda _line: None)
        except (APIError, DockerException, RequestException) as exc:
            failure.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise ImageRefused(f"building the Dockerfile took longer than {timeout_s:g} s")
    if failure:
        detail = str(failure[0]).strip().splitlines()[-1][:300] if str(failure[0]) else ""
        raise ImageRefused(
            f"the Dockerfile does not build without network: {detail}",
            hint="COPY your code and weights; every package must already be in the course image",
        )
