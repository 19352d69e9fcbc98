"""The package's public surface is short and explicit; this list is the documented one."""

from __future__ import annotations

import grader

DOCUMENTED = [
    "Assignment",
    "GradeResult",
    "GraderError",
    "Options",
    "Status",
    "__version__",
    "find_assignment",
    "grade_submission",
    "load_assignment",
]


def test_all_is_exactly_the_documented_list() -> None:
    assert sorted(grader.__all__) == DOCUMENTED
    assert len(set(grader.__all__)) == len(grader.__all__)


def test_every_public_name_is_importable() -> None:
    for name in DOCUMENTED:
        namespace: dict[str, object] = {}
        exec(f"from grader import {name}", namespace)
        assert namespace[name] is getattr(grader, name)
    star: dict[str, object] = {}
    exec("from grader import *", star)
    assert set(star) - {"__builtins__"} == set(DOCUMENTED)


def test_version_is_a_string() -> None:
    assert isinstance(grader.__version__, str) and grader.__version__.count(".") >= 1
