"""Shared fixtures: the tiny assignment copied into a temporary course, fixture notebooks, and
graded results of fixture notebooks computed once per session (a kernel start costs ~1 s)."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from docker.errors import ImageNotFound

from grader.core.errors import SandboxError
from grader.core.results import GradeResult
from grader.core.spec import Assignment, load_assignment
from grader.pipeline.grading import Options, grade_submission
from grader.sandbox.base import Sandbox
from grader.sandbox.docker.image import runtime_image_tag
from grader.sandbox.fake import FakeSandbox
from grader.sandbox.local import LocalSandbox

# The hostile suite's local-backend samples act on this host for real (the local backend limits,
# it does not isolate): pyc_trojan plants assertion-free pycs beside every test file it can find,
# this suite's own included, and a later run on the same checkout would load them. So the suite's
# rewritten modules live in a private cache made fresh for each session.
sys.pycache_prefix = tempfile.mkdtemp(prefix="dl-grader-suite-pyc-")
atexit.register(shutil.rmtree, sys.pycache_prefix, True)

pytest_plugins = ["gc_guard"]

collect_ignore = ["fixtures"]
"""Assignment tests under fixtures/ run only inside the grader, never in this suite."""

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOTEBOOKS = FIXTURES / "notebooks"
TINY = FIXTURES / "assignments" / "tiny"

NotebookMaker = Callable[..., Path]
Grader = Callable[..., GradeResult]


def fixture_notebooks(*outcomes: str) -> list[Path]:
    """Fixture notebooks under the given outcome folders (all folders when none given)."""
    folders = outcomes or tuple(p.name for p in sorted(NOTEBOOKS.iterdir()) if p.is_dir())
    return sorted(p for o in folders for p in (NOTEBOOKS / o).glob("*.ipynb"))


def notebook_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


OUTCOMES = ("graded", "missing_names", "forbidden_import", "timeout", "crashed", "invalid_notebook")
"""Folders named by the status their notebooks must get; ``hostile/`` is not one of them."""
PARAMETRIZED = {
    "outcome_nb": OUTCOMES,
    "invalid_nb": ("invalid_notebook",),
    "hostile_nb": ("hostile",),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests asking for ``outcome_nb``, ``invalid_nb`` or ``hostile_nb`` run once per file."""
    for name, folders in PARAMETRIZED.items():
        if name in metafunc.fixturenames:
            paths = fixture_notebooks(*folders)
            metafunc.parametrize(name, paths, ids=[notebook_id(p) for p in paths])


def expectation(path: Path) -> dict[str, object]:
    """``metadata.grader_test`` of a fixture notebook ({} for files that are not notebooks).

    The status a notebook must get is the name of its folder."""
    try:
        meta = json.loads(path.read_bytes())["metadata"]
    except (ValueError, KeyError, TypeError, RecursionError):
        return {}
    value = meta.get("grader_test", {})
    return value if isinstance(value, dict) else {}


def with_limits(spec: Assignment, **resources: float) -> Assignment:
    """The spec with some resource limits replaced (small timeouts keep the suite fast)."""
    if not resources:
        return spec
    return spec.model_copy(update={"resources": spec.resources.model_copy(update=resources)})


@pytest.fixture(scope="session")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A course folder (``assignments/tiny``) in a temporary directory, never the repo."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(TINY, root / "assignments" / "tiny")
    return root


@pytest.fixture(scope="session")
def tiny(course: Path) -> Assignment:
    return load_assignment(course / "assignments" / "tiny")


@pytest.fixture
def fake() -> FakeSandbox:
    return FakeSandbox()


@pytest.fixture(scope="session")
def local() -> LocalSandbox:
    return LocalSandbox()


@pytest.fixture
def make_nb(tmp_path: Path) -> NotebookMaker:
    """``make_nb("code", "md:markdown", ..., name="tiny.ipynb")`` writes a notebook in tmp_path."""

    def make(*sources: str, name: str = "tiny.ipynb", folder: Path | None = None) -> Path:
        cells = [
            nbformat.v4.new_markdown_cell(s[3:].lstrip())
            if s.startswith("md:")
            else nbformat.v4.new_code_cell(s)
            for s in sources
        ]
        path = (folder or tmp_path) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
        return path

    return make


def grade_fixture_notebook(
    spec: Assignment, path: Path, sandbox: Sandbox, **options: object
) -> GradeResult:
    """Grade a fixture notebook under the limits its metadata asks for."""
    limits = expectation(path).get("resources") or {}
    assert isinstance(limits, dict)
    spec = with_limits(spec, **limits)
    return grade_submission(spec, path, options=Options(sandbox=sandbox, **options))  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def graded(tiny: Assignment, local: LocalSandbox) -> Iterator[Grader]:
    """``graded("timeout/total_time")``: the fixture notebook's result, graded once per session
    with the LocalSandbox and hidden tests."""
    cache: dict[str, GradeResult] = {}

    def grade(rel: str) -> GradeResult:
        if rel not in cache:
            cache[rel] = grade_fixture_notebook(tiny, NOTEBOOKS / f"{rel}.ipynb", local)
        return cache[rel]

    yield grade


@pytest.fixture(scope="session")
def notebooks() -> Path:
    """The folder of fixture notebooks (read only)."""
    return NOTEBOOKS


@pytest.fixture(scope="session")
def expected() -> Callable[[Path], dict[str, object]]:
    return expectation


@pytest.fixture(scope="session")
def limited() -> Callable[..., Assignment]:
    """``limited(spec, cell_timeout=1)``: the spec with some resource limits replaced."""
    return with_limits


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Any]:
    """A client of the running engine that has the runtime image; skip (fail in CI) if not."""
    from grader.sandbox.docker import connect

    try:
        client = connect(timeout=10)
        client.images.get(runtime_image_tag())
    except (SandboxError, ImageNotFound) as exc:
        message = f"Docker tests need an engine and the runtime image: {exc}"
        if _in_ci():
            pytest.fail(f"{message} (CI=true: run scripts/ci-docker.sh first)")
        pytest.skip(message)
    yield client
    client.close()
