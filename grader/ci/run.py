"""One ``grade ci`` job: find the service and the push, plan, decide on trust, grade.

:func:`run_ci` returns a :class:`~grader.ci.outcome.CIRun`; :mod:`grader.ci.publish` writes
what it produced, and the CLI picks the exit code.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from grader.batch.worker import grader_error
from grader.ci.annotations import PER_LEVEL
from grader.ci.artifacts import artifacts_dir, folder_names, save_result
from grader.ci.cells import cell_lines
from grader.ci.environment import CIEnv, detect
from grader.ci.git import Git
from grader.ci.outcome import CIRun, Graded
from grader.ci.plan import Layout, Pattern, Plan, Target, Violation, class_plan, classroom_plan
from grader.ci.trust import TRUSTED_ENV, Setup, decide, exposed, is_trusted
from grader.errors import GraderError, SubmissionError
from grader.grading import Options, grade_submission
from grader.intake import find_notebook
from grader.sandbox.base import Sandbox
from grader.sandbox.choose import Backend, make_sandbox
from grader.spec import Assignment, find_assignment
from grader.testing.run import run_tests

OnGraded = Callable[[Graded], None]


@dataclass(frozen=True)
class CIOptions:
    """What ``grade ci`` was asked to do (the CLI's options, typed)."""

    assignment: str
    layout: Layout = Layout.CLASSROOM
    submissions: str | None = None
    """classroom: the notebook, folder or zip (default: the spec's notebook name);
    class-repo: a pattern with ``{student}`` (default ``submissions/{student}``)."""
    student: str | None = None
    """classroom: the student's name (default: the repository's name)."""
    roster: str | None = None
    hidden: bool = False
    trusted: tuple[str, ...] = ()
    allow_unconfined: bool = False
    backend: Backend = Backend.DOCKER
    out: Path = Path("grade-ci")
    course: Path | None = None
    per_level: int = PER_LEVEL


def run_ci(
    *,
    environ: Mapping[str, str],
    options: CIOptions,
    sandbox: Sandbox | None = None,
    on_graded: OnGraded | None = None,
) -> CIRun:
    """Grade what this CI job should grade; raises :class:`GraderError` when it cannot run."""
    ci = detect(environ)
    if ci is None:
        raise GraderError(
            "not in a CI job (neither GITHUB_ACTIONS nor GITLAB_CI is 'true')",
            hint="students: `grade check NOTEBOOK`; instructors: `grade batch`",
        )
    repo = ci.workspace.resolve()
    spec = find_assignment(
        options.assignment, _course(options.course, repo, environ) / "assignments"
    )
    git = Git(repo)
    plan = _plan(git, ci, spec, options)
    trusted = options.trusted + _listed(environ)
    if options.hidden:
        if not spec.path(spec.tests.hidden).is_dir():
            raise GraderError(
                f"--hidden: this copy of '{spec.id}' has no hidden tests",
                hint="hidden tests exist only in the instructors' copy (docs/ci.md)",
            )
        setup = Setup(
            options.layout, trusted, plan.roster, options.backend, options.allow_unconfined
        )
        trust = decide(ci, setup)
        if not trust.allowed:
            return CIRun(ci, spec, options.layout, True, plan, trust=trust)
    else:
        trust = None
    hidden_paths = [spec.path(spec.tests.hidden), spec.path(spec.data.hidden)]
    leaks = () if is_trusted(ci, trusted) else tuple(exposed(git, hidden_paths))
    plan, targets = _refuse_links(repo, plan)
    graded = _grade_all(repo, ci, spec, targets, options, sandbox, on_graded)
    return CIRun(ci, spec, options.layout, options.hidden, plan, graded, trust, leaks)


def _plan(git: Git, ci: CIEnv, spec: Assignment, options: CIOptions) -> Plan:
    if options.layout is Layout.CLASSROOM:
        student = options.student or ci.repository.rpartition("/")[2] or git.repo.name
        return classroom_plan(student=student, submission=options.submissions or spec.notebook)
    pattern = Pattern.parse(options.submissions or "submissions/{student}")
    return class_plan(git, ci, pattern=pattern, roster_path=options.roster)


def _course(given: Path | None, repo: Path, environ: Mapping[str, str]) -> Path:
    """The folder holding ``assignments/``: --course, $GRADER_COURSE, or the repository's."""
    if given is not None:
        return given.resolve()
    if environ.get("GRADER_COURSE"):
        return Path(environ["GRADER_COURSE"]).resolve()
    for folder in (repo, *repo.parents):
        if (folder / "assignments").is_dir():
            return folder
    raise GraderError(
        f"no assignments/ folder in {repo} or above",
        hint="commit the assignment's public folder (assignments/ID), or pass --course",
    )


def _listed(environ: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(t.strip() for t in environ.get(TRUSTED_ENV, "").split(",") if t.strip())


def _refuse_links(repo: Path, plan: Plan) -> tuple[Plan, list[Target]]:
    """Submissions that are, or hold, symbolic links are not graded: a link can point at
    another student's work or at files of the runner (hidden tests, in a trusted job)."""
    keep, refused = [], []
    for t in plan.targets:
        link = _link_in(repo, t.path)
        if link:
            refused.append(Violation(t.path, f"{link} is a symbolic link: submit real files"))
        else:
            keep.append(t)
    if not refused:
        return plan, keep
    violations = (*plan.violations, *refused)
    return Plan(tuple(keep), plan.changes, violations, plan.notes, plan.roster), keep


def _link_in(repo: Path, rel: str) -> str:
    path = repo
    for part in Path(rel).parts:
        path = path / part
        if path.is_symlink():
            return str(path.relative_to(repo))
    if path.is_dir():
        for inner in path.rglob("*"):
            if inner.is_symlink():
                return str(inner.relative_to(repo))
    return ""


def _grade_all(
    repo: Path,
    ci: CIEnv,
    spec: Assignment,
    targets: list[Target],
    options: CIOptions,
    sandbox: Sandbox | None,
    on_graded: OnGraded | None,
) -> tuple[Graded, ...]:
    if not targets:
        return ()
    sandbox = sandbox or make_sandbox(options.backend)
    names = folder_names(t.student for t in targets)
    graded = []
    for target in targets:
        g = _grade(repo, ci, spec, target, names[target.student], options, sandbox)
        graded.append(g)
        if on_graded is not None:
            on_graded(g)
    return tuple(graded)


def _grade(
    repo: Path,
    ci: CIEnv,
    spec: Assignment,
    target: Target,
    folder: str,
    options: CIOptions,
    sandbox: Sandbox,
) -> Graded:
    source = repo / target.path
    pictures = artifacts_dir(options.out, folder)
    pictures.mkdir(parents=True, exist_ok=True)
    grading = Options(
        sandbox=sandbox, hidden=options.hidden, submitted_at=ci.pushed_at, artifacts=pictures
    )
    try:
        result = grade_submission(spec, source, options=grading)
    except Exception as exc:  # one submission never ends the job: its result says why
        result = grader_error(spec, target.path, f"{type(exc).__name__}: {exc}"[:500])
    result = result.model_copy(update={"submission": target.path})
    save_result(options.out, folder, result, source=target.path, submitted_at=ci.pushed_at)
    notebook = _notebook(repo, source, spec)
    lines = cell_lines(repo / notebook) if notebook else ()
    return Graded(target, result, folder, notebook, lines)


def _notebook(repo: Path, source: Path, spec: Assignment) -> str:
    """The notebook intake graded, relative to the repository ('' for none, or in a zip)."""
    with (
        tempfile.TemporaryDirectory(prefix="grade-ci-") as tmp,
        contextlib.suppress(SubmissionError),
    ):
        path, _ = find_notebook(source, preferred=spec.notebook, scratch=Path(tmp))
        if path.resolve().is_relative_to(repo):
            return str(path.resolve().relative_to(repo))
    return ""


def public_max(spec: Assignment) -> float:
    """Points the public checks can give: public tests and written answers."""
    plugin = run_tests(spec, bridge=None, hidden=False, collect_only=True)
    tests = sum(r.points for r in plugin.tests.values() if not r.hidden and not r.invalid)
    return tests + sum(q.points for q in spec.questions)
