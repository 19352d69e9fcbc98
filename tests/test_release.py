"""`grade release`: the student kit holds what students need and nothing hidden, is the same
bytes when built twice, and `grade check` works inside it with no course repository."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import site
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.core.spec import Assignment, load_assignment
from grader.course.release import (
    KIT_FILE,
    build_kit,
    public_spec,
    released_pending,
    toml_text,
)

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "tests" / "fixtures" / "assignments" / "tiny"
RUBRIC = "RUBRIC-ONLY-FOR-REVIEWERS: mention growth rates"


@pytest.fixture
def tiny_course(tmp_path: Path) -> Assignment:
    """The tiny assignment with a rubric and a README, in a temporary course."""
    folder = tmp_path / "course" / "assignments" / "tiny"
    shutil.copytree(TINY, folder)
    spec = folder / "assignment.toml"
    spec.write_text(spec.read_text(encoding="utf-8") + f'rubric = "{RUBRIC}"\n', encoding="utf-8")
    (folder / "README.md").write_text("# Tiny\n\nWrite square(x).\n", encoding="utf-8")
    return load_assignment(folder)


def kit_listing(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def hidden_markers(spec: Assignment) -> tuple[set[str], set[bytes]]:
    """What must never be in a kit: names (hidden test files and their tests, hidden data
    files) and contents (hidden data, rubrics). Helper and fixture names of hidden conftests
    are ordinary words ("weights", "linear") that READMEs use too, so they are not searched."""
    hidden = spec.path(spec.tests.hidden)
    names = {p.name for p in hidden.rglob("test_*.py")} | _test_names(hidden)
    blobs: set[bytes] = {q.rubric.encode() for q in spec.questions if q.rubric}
    public = spec.path(spec.tests.public)
    names -= _test_names(public) | {p.name for p in public.rglob("*.py")}  # shared: no secret
    for path in spec.path(spec.data.hidden).rglob("*"):
        if path.is_file():
            names.add(path.name)
            data = path.read_bytes()
            blobs.add(data[-64:] if len(data) > 64 else data)  # payload, past any header
    return names, blobs


def _test_names(folder: Path) -> set[str]:
    return {
        node.name
        for path in folder.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def assert_nothing_hidden(spec: Assignment, folder: Path) -> None:
    names, blobs = hidden_markers(spec)
    assert names and blobs, "the assignment should have hidden parts to look for"
    pattern = re.compile(rb"\b(" + b"|".join(re.escape(n.encode()) for n in names) + rb")\b")
    for name in kit_listing(folder):
        assert "hidden" not in name.split("/"), name
        data = (folder / name).read_bytes()
        leaked = [m.group().decode() for m in pattern.finditer(data)]
        leaked += [repr(b[:20]) for b in blobs if b in data]
        assert not leaked, f"{name} holds hidden {leaked[:5]}"


def test_kit_lists_exactly_what_students_need(tiny_course: Assignment, tmp_path: Path) -> None:
    kit = build_kit(tiny_course, out=tmp_path / "kit")
    assert kit_listing(kit.folder) == [
        "README.md",
        "assignment.toml",
        "data/numbers.csv",
        KIT_FILE,
        "tests/public/test_square.py",
        "tiny.ipynb",
    ]
    assert kit.files == kit_listing(kit.folder)
    with zipfile.ZipFile(kit.archive) as archive:
        assert archive.namelist() == [f"tiny/{n}" for n in kit.files]
    assert_nothing_hidden(tiny_course, kit.folder)
    assert (kit.folder / "tiny.ipynb").read_bytes() == tiny_course.path(
        "template.ipynb"
    ).read_bytes()


def test_kit_is_byte_identical_when_built_twice(tiny_course: Assignment, tmp_path: Path) -> None:
    first = build_kit(tiny_course, out=tmp_path / "a")
    os.utime(tiny_course.path("template.ipynb"), (1, 1))  # times must not matter
    second = build_kit(tiny_course, out=tmp_path / "b")
    assert first.archive.read_bytes() == second.archive.read_bytes()
    for name in first.files:
        assert (first.folder / name).read_bytes() == (second.folder / name).read_bytes()
    again = build_kit(tiny_course, out=tmp_path / "a")  # over the previous kit
    assert again.archive.read_bytes() == first.archive.read_bytes()


def test_kit_spec_is_the_spec_minus_hidden_parts(tiny_course: Assignment, tmp_path: Path) -> None:
    kit = build_kit(tiny_course, out=tmp_path / "kit")
    loaded = load_assignment(kit.folder)
    assert loaded.questions[0].rubric == ""
    assert loaded.data.public == "data"
    expected = tiny_course.model_copy(
        update={
            "root": loaded.root,
            "questions": [q.model_copy(update={"rubric": ""}) for q in tiny_course.questions],
            "data": tiny_course.data.model_copy(update={"public": "data"}),
        }
    )
    assert loaded == expected
    assert json.loads((kit.folder / KIT_FILE).read_text()) == {
        "kit": 1,
        "assignment": "tiny",
        "version": "1",
        "hidden_tests": 1,
        "hidden_points": {"funcs": 1.0},
    }
    assert released_pending(loaded) == (1, {"funcs": 1.0})


@pytest.mark.parametrize("assignment", ["gd_backprop", "cnn_tuning"])
def test_kits_of_the_course_hold_nothing_hidden(assignment: str, tmp_path: Path) -> None:
    spec = load_assignment(REPO / "assignments" / assignment)
    kit = build_kit(spec, out=tmp_path)
    names = kit_listing(kit.folder)
    assert spec.notebook in names and "assignment.toml" in names and "README.md" in names
    assert any(n.startswith("tests/public/") for n in names)
    assert any(n.startswith("data/") for n in names)
    assert not any(n.startswith(("tests/hidden", "data/hidden")) for n in names)
    assert not any(n.endswith(("make_data.py", "master.ipynb", "DATA.md")) for n in names)
    assert "### BEGIN SOLUTION" not in (kit.folder / spec.notebook).read_text(encoding="utf-8")
    assert_nothing_hidden(spec, kit.folder)
    assert kit.hidden_tests > 0
    assert load_assignment(kit.folder) is not None


def test_toml_writer_round_trips_awkward_values() -> None:
    data = {
        "title": 'кавычки " и \\ и\nперевод',
        "n": 3,
        "x": 0.5,
        "flag": True,
        "names": {"aliases": {"Class.method": ["a", "b"], "plain": []}},
        "items": [{"id": "a"}, {"id": "b", "tags": ["x"]}],
    }
    assert tomllib.loads(toml_text(data)) == data


def test_public_spec_keeps_everything_but_rubrics(tiny_course: Assignment) -> None:
    data = public_spec(tiny_course)
    assert "rubric" not in data["questions"][0]
    assert data["names"] == tiny_course.names.model_dump()


def test_release_command_and_refusing_to_overwrite_other_folders(
    tiny_course: Assignment, tmp_path: Path
) -> None:
    runner = CliRunner()
    out = tmp_path / "out"
    done = runner.invoke(app, ["release", str(tiny_course.root), "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "tests/public/test_square.py" in done.output and "1 tests" in done.output
    (tmp_path / "other" / "tiny").mkdir(parents=True)
    (tmp_path / "other" / "tiny" / "notes.txt").write_text("mine", encoding="utf-8")
    refused = runner.invoke(
        app, ["release", str(tiny_course.root), "--out", str(tmp_path / "other")]
    )
    assert refused.exit_code == 2 and "not a kit" in refused.output
    assert (tmp_path / "other" / "tiny" / "notes.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.slow
def test_grade_check_runs_inside_an_unpacked_kit(tiny_course: Assignment, tmp_path: Path) -> None:
    """Outside any course: the kit's zip unpacked under another folder name, `grade check` run
    there on the template and on a finished notebook (a kernel each)."""
    kit = build_kit(tiny_course, out=tmp_path / "release")
    where = tmp_path / "student"
    with zipfile.ZipFile(kit.archive) as archive:
        archive.extractall(where)
    folder = where / "tiny"
    folder.rename(where / "my homework")
    folder = where / "my homework"
    solved = REPO / "tests" / "fixtures" / "notebooks" / "graded" / "full_marks.ipynb"
    shutil.copyfile(solved, folder / "solved.ipynb")
    env = {k: v for k, v in os.environ.items() if k not in ("GRADER_COURSE", "GRADER_ASSIGNMENTS")}

    def check(notebook: str) -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, "-m", "grader.cli", "check", notebook, "--json"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode in (0, 1), done.stderr
        return json.loads(done.stdout)

    template, full = check("tiny.ipynb"), check("solved.ipynb")
    assert template["assignment"] == full["assignment"] == "tiny"
    assert template["points"] == 0
    assert full["points"] == 3.0  # 2 public test points + the answer, provisionally
    assert full["hidden_not_run"] == 1 and full["hidden_points_pending"] == {"funcs": 1.0}


@pytest.mark.slow
def test_a_wheel_in_a_fresh_venv_checks_the_course_kits_outside_the_repository(
    tmp_path: Path,
) -> None:
    """What a student does: `pip install` the grader (a wheel built from this tree, into a new
    venv: every file the package needs must ship in it), unzip the kit anywhere, `grade check`.
    The template gets nothing and the reference its public points, as in the course's repository.
    The venv borrows the dependencies of the running environment (no network in tests), but the
    grader itself is the wheel's."""
    source = tmp_path / "source"  # built from a copy: a build writes build/ and egg-info
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(REPO / name, source / name)
    shutil.copytree(
        REPO / "grader", source / "grader", ignore=shutil.ignore_patterns("__pycache__")
    )
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    build = [*pip, "wheel", str(source), "--no-deps", "--no-build-isolation", "-w", str(wheels)]
    subprocess.run(build, check=True, capture_output=True, timeout=300)
    (wheel,) = wheels.glob("dl_grader-*.whl")
    venv = tmp_path / "student venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    (site_packages,) = venv.glob("lib/python*/site-packages")
    # the dependencies: this environment's folders as plain path entries (their .pth files,
    # this checkout's editable install among them, are not read)
    (site_packages / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRADER_", "PYTHONPATH"))}
    install = [str(python), *pip[1:], "install", "--no-deps", "--no-index", str(wheel)]
    subprocess.run(install, check=True, capture_output=True, timeout=300)
    where = subprocess.run(
        [str(python), "-c", "import grader; print(grader.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(venv)  # the wheel's, not this checkout's

    def check(folder: Path, notebook: str) -> dict[str, object]:
        done = subprocess.run(
            [str(venv / "bin" / "grade"), "check", notebook, "--json"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode in (0, 1) and done.stdout, done.stderr
        return json.loads(done.stdout)

    for assignment, solved in (("gd_backprop", True), ("cnn_tuning", False)):
        spec = load_assignment(REPO / "assignments" / assignment)
        kit = build_kit(spec, out=tmp_path / "release")
        with zipfile.ZipFile(kit.archive) as archive:
            archive.extractall(tmp_path / "student" / assignment)
        folder = tmp_path / "student" / assignment / assignment
        template = check(folder, spec.notebook)
        assert template["assignment"] == assignment and template["points"] == 0
        if solved:  # cnn_tuning's reference trains a network: its public checks take minutes
            reference = REPO / "reference_solutions" / f"{assignment}.ipynb"
            shutil.copyfile(reference, folder / "solved.ipynb")
            got = check(folder, "solved.ipynb")
            assert got["points"] == got["max_points"] and got["hidden_not_run"]
