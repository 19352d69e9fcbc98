"""``grade doctor``: can this machine grade with Docker (and GPUs)? Each missing piece comes
with the command that fixes it. Checks only look; they change nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from grader.core.errors import SandboxError
from grader.sandbox.docker.container import sandbox_user
from grader.sandbox.docker.engine import connect, docker_host
from grader.sandbox.docker.image import LABEL_FILES, image_labels, load_recipe, runtime_image_tag

NVIDIA_TOOLKIT_FIX = (
    "install nvidia-container-toolkit, then `sudo nvidia-ctk runtime configure --runtime=docker`"
    " and restart Docker"
)


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, whether it is fine, and how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    """What to run; on a check that is ok, a warning."""
    required: bool = True


def run_checks(*, require_gpu: bool = False, host: str | None = None) -> list[Check]:
    """Every check, in the order they depend on each other."""
    checks = [check_cli()]
    engine, client = check_engine(host=host or docker_host())
    checks.append(engine)
    info: dict[str, Any] = client.info() if client is not None else {}
    if client is not None:
        checks += [check_limits(info), check_user(), check_image(client, gpu=False)]
    checks.append(check_gpus(required=require_gpu))
    if client is not None and (require_gpu or checks[-1].ok):
        checks += [
            check_nvidia_runtime(info, required=require_gpu),
            check_image(client, gpu=True, required=require_gpu),
        ]
    return checks


def failed(checks: list[Check]) -> bool:
    """Whether something required is missing."""
    return any(c.required and not c.ok for c in checks)


def check_cli() -> Check:
    path = shutil.which("docker")
    if path is None:
        return Check(
            "Docker CLI",
            False,
            "`docker` not on PATH",
            "apt-get install docker.io (or docker-ce-cli)",
        )
    return Check("Docker CLI", True, path)


def check_engine(*, host: str) -> tuple[Check, Any]:
    try:
        client = connect(host=host, timeout=10)
    except SandboxError as exc:
        fix = "start it: `sudo systemctl start docker` (or `sudo dockerd &`)"
        return Check("Docker engine", False, exc.message, fix), None
    version = client.version()
    detail = f"{version.get('Version', '?')} (API {version.get('ApiVersion', '?')}) at {host}"
    return Check("Docker engine", True, detail), client


def check_limits(info: dict[str, Any]) -> Check:
    """Memory limits must work; swap accounting makes memory + swap a hard cap."""
    if not info.get("MemoryLimit", False):
        return Check(
            "Memory limits",
            False,
            "the engine cannot limit memory",
            "enable the memory cgroup (kernel parameter cgroup_enable=memory)",
        )
    cgroup = f"cgroup v{info.get('CgroupVersion', '?')}"
    if not info.get("SwapLimit", False):
        return Check(
            "Memory limits",
            True,
            f"{cgroup}; no swap limit: a kernel may swap",
            "enable swap accounting (swapaccount=1) or turn swap off",
            required=False,
        )
    return Check("Memory limits", True, f"{cgroup}, memory and swap")


def check_user() -> Check:
    """Which uid kernels get, and whether their socket folder can be sealed."""
    uid = sandbox_user()[0]
    if os.geteuid() == 0:
        return Check("Sandbox user", True, f"uid {uid}; socket folders sealed")
    detail = f"your uid {uid}: socket folders cannot be sealed"
    return Check("Sandbox user", True, detail, "grade hostile classes as root or in CI", False)


def check_image(client: Any, *, gpu: bool, required: bool = True) -> Check:
    tag = runtime_image_tag(gpu=gpu)
    name = "Runtime image (GPU)" if gpu else "Runtime image"
    build = "grade image build" + (" --gpu" if gpu else "")
    labels = image_labels(client, tag)
    if labels is None:
        fix = f"`{build}` (no registry? `{build} --offline`)"
        return Check(name, False, f"{tag} missing", fix, required=required)
    current = _files_digest(gpu=gpu)
    if current is not None and labels.get(LABEL_FILES) != current:
        detail = f"{tag} is stale (built from other Dockerfile/requirements)"
        return Check(name, False, detail, f"`{build}` to rebuild", required=False)
    return Check(name, True, f"{tag} (recipe {labels.get('dl-grader.recipe', '?')})")


def _files_digest(*, gpu: bool) -> str | None:
    try:
        return load_recipe(gpu=gpu).files_digest
    except SandboxError:
        return None  # not a checkout: staleness cannot be told


def check_gpus(*, required: bool) -> Check:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return Check(
            "GPUs",
            False,
            "no nvidia-smi: no NVIDIA driver",
            "install the NVIDIA driver (only needed for GPU assignments)",
            required,
        )
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20, check=True)
    except (subprocess.SubprocessError, OSError) as exc:
        return Check(
            "GPUs", False, f"nvidia-smi failed: {exc}", "check the NVIDIA driver", required
        )
    gpus = [line for line in out.stdout.splitlines() if line.startswith("GPU ")]
    if not gpus:
        return Check("GPUs", False, "nvidia-smi lists none", "check the NVIDIA driver", required)
    return Check("GPUs", True, "; ".join(g.split(" (UUID")[0] for g in gpus), required=required)


def check_nvidia_runtime(info: dict[str, Any], *, required: bool) -> Check:
    runtimes = sorted((info.get("Runtimes") or {}).keys())
    if "nvidia" in runtimes:
        return Check("NVIDIA container runtime", True, f"runtimes: {', '.join(runtimes)}")
    hook = shutil.which("nvidia-container-runtime-hook") or shutil.which("nvidia-container-cli")
    if hook:
        return Check("NVIDIA container runtime", True, f"toolkit hook {hook}")
    detail = f"not in `docker info` (runtimes: {', '.join(runtimes) or 'none'})"
    return Check("NVIDIA container runtime", False, detail, NVIDIA_TOOLKIT_FIX, required)
