"""The ``grade`` command line: exit codes, what it prints, JSON that validates."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from grader import cli
from grader.cli import console
from grader.core.errors import SubmissionError
from grader.core.results import GradeResult, Status
from grader.pipeline.intake import read_notebook

Invoke = Callable[..., Result]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, course: Path) -> Invoke:
    """``run("check", ...)`` in the temporary course, with consoles wide enough not to wrap."""
    monkeypatch.setattr(console, "out", Console(width=400))
    monkeypatch.setattr(console, "err", Console(width=400, stderr=True))
    monkeypatch.setenv("GRADER_COURSE", str(course))

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli.app, list(args))

    return invoke


def test_check_good_notebook(run: Invoke, notebooks: Path) -> None:
    result = run("check", str(notebooks / "graded/full_marks.ipynb"))
    assert result.exit_code == 0, result.output
    assert "NOT YOUR GRADE YET" in result.output
    assert "3 / 3 points" in result.output


def test_check_json(run: Invoke, notebooks: Path) -> None:
    result = run("check", "--json", str(notebooks / "graded/full_marks.ipynb"))
    assert result.exit_code == 0, result.output
    graded = GradeResult.model_validate_json(result.stdout)
    assert (graded.status, graded.points, graded.max_points) == (Status.GRADED, 3.0, 3.0)
    assert (graded.hidden_included, graded.hidden_not_run) == (False, 1)
    assert graded.assignment == "tiny"  # found from the notebook's metadata


def test_unknown_assignment(run: Invoke, notebooks: Path) -> None:
    result = run("check", "-a", "nope", str(notebooks / "graded/full_marks.ipynb"))
    assert result.exit_code == 2
    assert "nope" in result.output and "tiny" in result.output  # the known ones are listed


def test_invalid_notebook(run: Invoke, notebooks: Path) -> None:
    path = notebooks / "invalid_notebook/not_json.ipynb"
    with pytest.raises(SubmissionError) as verdict:
        read_notebook(path)
    text = run("check", "-a", "tiny", str(path))
    assert text.exit_code == 1
    assert verdict.value.message in text.output
    as_json = run("check", "-a", "tiny", "--json", str(path))
    assert as_json.exit_code == 1
    graded = GradeResult.model_validate_json(as_json.stdout)
    assert (graded.status, graded.message) == (Status.INVALID_NOTEBOOK, str(verdict.value))


def test_hidden_without_hidden_tests(
    run: Invoke, notebooks: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, course: Path
) -> None:
    student_copy = tmp_path / "course"
    shutil.copytree(course / "assignments", student_copy / "assignments")
    shutil.rmtree(student_copy / "assignments/tiny/tests/hidden")
    monkeypatch.setenv("GRADER_COURSE", str(student_copy))
    result = run("check", "--hidden", str(notebooks / "graded/full_marks.ipynb"))
    assert result.exit_code == 2
    assert "hidden" in result.output


def _course_for_validate(
    root: Path, course: Path, notebooks: Path, *, with_reference: bool = True
) -> Path:
    shutil.copytree(course / "assignments", root / "assignments")
    if with_reference:
        (root / "reference_solutions").mkdir()
        shutil.copy(notebooks / "graded/full_marks.ipynb", root / "reference_solutions/tiny.ipynb")
    samples = {
        "broken": ("graded/broken_honest", 'status = "graded"\nmax_points = 0\n'),
        "missing_counter": (
            "missing_names/no_counter",
            'status = "missing_names"\nmin_points = 2\nmax_points = 2\n'
            "[components]\nfuncs = { min = 2, max = 2 }\n",
        ),
        "loops": ("timeout/infinite_loop_cell", 'status = "timeout"\ncell_timeout = 1\n'),
    }
    for name, (source, expected) in samples.items():
        folder = root / "student_submissions" / "tiny" / name
        folder.mkdir(parents=True)
        shutil.copy(notebooks / f"{source}.ipynb", folder / "submission.ipynb")
        (folder / "expected.toml").write_text(expected, encoding="utf-8")
    return root


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_validate(
    run: Invoke,
    course: Path,
    notebooks: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    jobs: str,
) -> None:
    """In this process, and on two batch workers (each sample judged by its own declaration,
    the infinite loop under its own one-second limit)."""
    root = _course_for_validate(tmp_path / "course", course, notebooks)
    monkeypatch.delenv("GRADER_COURSE")
    monkeypatch.chdir(root)
    result = run("validate", "tiny", "-j", jobs)
    assert result.exit_code == 0, result.output
    for name in (
        "reference solution",
        "template",
        "sample 'broken'",
        "sample 'loops'",
        "sample 'missing_counter'",
        "tests and points",
    ):
        assert name in result.output


@pytest.mark.slow
def test_parallel_validate_reports_a_sample_that_is_not_as_declared(
    run: Invoke, course: Path, notebooks: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _course_for_validate(tmp_path / "course", course, notebooks)
    declared = root / "student_submissions" / "tiny" / "broken" / "expected.toml"
    declared.write_text('status = "timeout"\n', encoding="utf-8")
    monkeypatch.setenv("GRADER_COURSE", str(root))
    result = run("validate", "tiny", "-j", "2")
    assert result.exit_code == 1, result.output
    assert "status graded (expected timeout)" in result.output


def test_validate_only_the_samples_asked_for(
    run: Invoke, course: Path, notebooks: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--sample NAME``: that sample beside the reference and the template, no other; a name
    with no folder fails, saying so."""
    root = _course_for_validate(tmp_path / "course", course, notebooks)
    monkeypatch.setenv("GRADER_COURSE", str(root))
    result = run("validate", "tiny", "-j", "1", "--sample", "broken")
    assert result.exit_code == 0, result.output
    assert "sample 'broken'" in result.output and "reference solution" in result.output
    assert "sample 'loops'" not in result.output and "missing_counter" not in result.output
    wrong = run("validate", "tiny", "-j", "1", "--sample", "brokn")
    assert wrong.exit_code == 1
    assert "sample 'brokn'" in wrong.output and "no such sample folder" in wrong.output


def test_validate_reports_a_missing_reference(
    run: Invoke, course: Path, notebooks: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _course_for_validate(tmp_path / "course", course, notebooks, with_reference=False)
    shutil.rmtree(root / "student_submissions")
    monkeypatch.setenv("GRADER_COURSE", str(root))
    result = run("validate", "tiny")
    assert result.exit_code == 1
    assert "reference_solutions" in result.output


def test_cli_as_a_process(course: Path, notebooks: Path) -> None:
    env = {**os.environ, "GRADER_COURSE": str(course)}
    path = notebooks / "invalid_notebook/nbformat3.ipynb"
    done = subprocess.run(
        [sys.executable, "-m", "grader.cli", "check", "-a", "tiny", "--json", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert GradeResult.model_validate_json(done.stdout).status == Status.INVALID_NOTEBOOK


@pytest.mark.parametrize("command", [["image", "build", "--offline"], ["sandbox", "prune"]])
def test_docker_commands_that_cannot_run_exit_2(
    run: Invoke, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    from grader.core.errors import SandboxError
    from grader.sandbox.docker import engine

    def down(**kwargs: object) -> None:
        raise SandboxError("cannot reach the Docker engine at unix:///nowhere", hint="start it")

    monkeypatch.setattr(engine, "connect", down)
    result = run(*command)
    assert result.exit_code == 2, result.output
    assert "cannot reach the Docker engine" in result.output and "start it" in result.output


def test_validate_under_docker_without_an_engine_says_so_once(
    run: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Not one "grader failed" per notebook: the engine is checked before anything is graded."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    result = run("validate", "tiny", "--backend", "docker")
    assert result.exit_code == 2, result.output
    assert "the docker sandbox cannot run" in result.output
    assert "reference solution" not in result.output


def test_errors_are_printed_as_text_not_markup(run: Invoke, tmp_path: Path) -> None:
    """A path a student chose ([bold]...) reaches the terminal as it is."""
    result = run("report", str(tmp_path / "[red]x[/red]"))
    assert result.exit_code == 2
    assert "[red]x[/red]" in result.output


# ---------------------------------------------------------------- bounded, honest about it (#11)

HONEST = (
    "def square(x):\n    return x * x\n",
    "class Counter:\n    def __init__(self, start=0):\n        self.total = start\n\n"
    "    def add(self, n):\n        self.total += n\n        return self.total\n",
)


def _notebook(path: Path, *sources: str) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["dl_grader"] = {"assignment": "tiny"}
    nbformat.write(nb, path)
    return path


def _check_process(course: Path, notebook: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "GRADER_COURSE": str(course), "COLUMNS": "300"}
    return subprocess.Popen(
        [sys.executable, "-m", "grader.cli", "check", "-a", "tiny", str(notebook)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


@pytest.mark.slow
def test_ctrl_c_during_the_tests_reports_interrupted(course: Path, tmp_path: Path) -> None:
    """It used to print "graded" with the points of the tests that had run."""
    import signal
    import time

    started = tmp_path / "square-called"
    slow_square = f"def square(x):\n    open({str(started)!r}, 'w').close()\n    import time\n"
    slow_square += "    time.sleep(30)\n    return x * x\n"
    nb = _notebook(tmp_path / "slow.ipynb", slow_square, HONEST[1])
    proc = _check_process(course, nb)
    deadline = time.monotonic() + 120
    while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert started.exists(), proc.communicate()[0]
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    assert "interrupted (Ctrl-C)" in output and "not graded" in output
    assert "/ 3 points" not in output and "all checks passed" not in output


@pytest.mark.slow
def test_check_ends_at_its_overall_limit(course: Path, tmp_path: Path) -> None:
    """Each cell is within its limit, the whole is not: the command still ends, and says why."""
    copy = tmp_path / "course"
    shutil.copytree(course, copy)
    spec = copy / "assignments" / "tiny" / "assignment.toml"
    text = spec.read_text(encoding="utf-8").replace(
        "[resources]\n", "[resources]\ngrading_timeout = 8\n"
    )
    spec.write_text(text, encoding="utf-8")
    nb = _notebook(tmp_path / "slow.ipynb", *HONEST, *["import time\ntime.sleep(3)"] * 8)
    proc = _check_process(copy, nb)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1, output
    assert "overall limit of 8 s" in output


def test_markup_and_escapes_in_student_text_are_shown_as_text(run: Invoke, tmp_path: Path) -> None:
    """'[/]' in an error message made `grade check` die with a traceback; ESC c cleared the
    screen."""
    raising = 'raise ValueError("[/] [bold green]3 / 3 graded[/] \\x1bc\\x1b[2J")'
    nb = _notebook(tmp_path / "nb.ipynb", *HONEST, raising)
    result = run("check", str(nb))
    assert result.exit_code == 0, result.output
    assert "[/] [bold green]3 / 3 graded[/]" in result.output
    assert "\x1b" not in result.output and "\\x1bc" in result.output


def test_batch_output_shows_file_names_as_text() -> None:
    """A file named with escape sequences cleared the screen and printed a fake summary."""
    import io

    from grader.batch.runner import BatchSummary
    from grader.cli import batch as batch_cli
    from grader.cli import console

    screen = io.StringIO()
    summary = BatchSummary(
        total=1, ignored=["\x1bc\x1b[2J14 graded, 0 failed[/].txt"], grader_errors=["[/]x"]
    )
    old = console.out
    console.out = Console(file=screen, force_terminal=True, width=300)
    try:
        batch_cli._print_run(summary)
    finally:
        console.out = old
    shown = screen.getvalue()
    assert "\x1bc" not in shown and "\x1b[2J" not in shown
    assert "\\x1bc\\x1b[2J14 graded, 0 failed[/].txt" in shown and "[/]x" in shown
