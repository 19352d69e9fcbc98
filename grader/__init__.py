"""dl-grader: grade deep-learning homework notebooks in sandboxes, with hidden tests on the host."""

__version__ = "0.1.0"

from grader.errors import GraderError
from grader.grading import Options, grade_submission
from grader.results import GradeResult, Status
from grader.spec import Assignment, find_assignment, load_assignment

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
