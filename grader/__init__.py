"""dl-grader: grade deep-learning homework notebooks in sandboxes, with hidden tests on the host.

The public names are loaded on first use, so ``import grader`` (and every command that needs
little, such as ``grade report``) does not pay for the kernel stack.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.core.errors import GraderError
    from grader.core.results import GradeResult, Status
    from grader.core.spec import Assignment, find_assignment, load_assignment
    from grader.pipeline.grading import Options, grade_submission

__all__ = [
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

_HOME = {
    "Assignment": "grader.core.spec",
    "GradeResult": "grader.core.results",
    "GraderError": "grader.core.errors",
    "Options": "grader.pipeline.grading",
    "Status": "grader.core.results",
    "find_assignment": "grader.core.spec",
    "grade_submission": "grader.pipeline.grading",
    "load_assignment": "grader.core.spec",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from grader.core.version import version

        return version()
    if name in _HOME:
        return getattr(import_module(_HOME[name]), name)
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
