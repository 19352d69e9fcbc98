"""Forbidden modules hidden from every process of a container: a stub package, mounted read-only
over each place a forbidden module lives in the image, raises when anything imports it (a
subprocess, a loader on its files). The kernel's audit hook refuses them too; this is the
second wall, for what runs outside the kernel's interpreter.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path, PurePosixPath
from typing import Any

from docker.types import Mount as DockerMount

from grader.sandbox.docker.engine import ENGINE_ERRORS

log = logging.getLogger(__name__)

FORBIDDEN_STUB = "forbidden"
"""Folder in ``run_dir`` holding the package mounted over each forbidden module."""
_STUB_INIT = """\
class ForbiddenImportError(ModuleNotFoundError):
    pass


raise ForbiddenImportError(f"{__name__!r} may not be used in this assignment")
"""
_FIND_MODULES = """\
import importlib.machinery, json, os, sys
out = {}
for name in sys.argv[1:]:
    try:
        spec = importlib.machinery.PathFinder.find_spec(name)
    except Exception:
        spec = None
    if spec is None:
        continue
    places = list(spec.submodule_search_locations or [])
    if not places and spec.origin and os.path.isabs(spec.origin):
        places = [os.path.join(os.path.dirname(spec.origin), name)]  # a package there wins
    out[name] = places
print(json.dumps(out))
"""


def module_places(
    client: Any, image: str, names: tuple[str, ...], *, python: str, user: tuple[int, int]
) -> dict[str, list[str]]:
    """Module name → the folders a stub package must cover to hide it inside ``image``."""
    try:
        out = client.containers.run(
            image,
            [python, "-c", _FIND_MODULES, *names],
            network_mode="none",
            remove=True,
            user=f"{user[0]}:{user[1]}",
            read_only=True,
        )
        found = json.loads(out.decode("utf-8").strip().splitlines()[-1])
    except (*ENGINE_ERRORS, ValueError, IndexError) as exc:
        log.warning("cannot find %s in %s (%s): only the kernel refuses them", names, image, exc)
        return {}
    return {
        str(n): [str(p) for p in places if PurePosixPath(str(p)).is_absolute()]
        for n, places in found.items()
    }


def write_stub(run_dir: Path) -> None:
    """The stub package, in ``run_dir``, readable by the sandbox user."""
    stub = run_dir / FORBIDDEN_STUB
    stub.mkdir()
    stub.chmod(0o755)
    (stub / "__init__.py").write_text(_STUB_INIT, encoding="utf-8")


def stub_mounts(run_dir: Path, hidden: dict[str, list[str]]) -> list[DockerMount]:
    """The stub package, read-only, over every place a forbidden module is found: whatever
    imports it inside the container (a subprocess, a loader on its files) gets the stub."""
    stub = str(run_dir / FORBIDDEN_STUB)
    places = sorted({p for found in hidden.values() for p in found})
    return [DockerMount(place, stub, type="bind", read_only=True) for place in places]
