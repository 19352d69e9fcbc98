"""Class intake: folders, named notebooks, LMS zips, manifests, duplicates, unreadable entries."""

from __future__ import annotations

import os
import subprocess
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from batch_classes import ClassMaker, fixture_nb

from grader.batch.intake import Entry, read_class, student_id
from grader.core.errors import GraderError
from grader.core.outcomes import Unusable

GOOD = "graded/full_marks"


def by_student(entries: list[Entry]) -> dict[str, Entry]:
    return {e.student: e for e in entries}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ivanov", "ivanov"),
        ("Иванов Иван", "Иванов_Иван"),
        ("Ivan Ivanov_1234567_assignsubmission_file_", "Ivan_Ivanov_1234567"),
        ("../../etc", "etc"),
        ("a/b\\c:d*e", "a_b_c_d_e"),
        ("...", "unnamed"),
        ("gradebook.csv", "gradebook.csv_"),
        (".hidden", "hidden"),
    ],
)
def test_student_ids_are_safe_folder_names(raw: str, expected: str) -> None:
    assert student_id(raw) == expected


def test_folders_and_named_notebooks_mixed(make_class: ClassMaker, tmp_path: Path) -> None:
    root = make_class(
        {
            "ivanov/tiny.ipynb": GOOD,
            "ivanov/data.csv": GOOD,
            "petrov.ipynb": GOOD,
            "notes.txt": GOOD,
            ".DS_Store": GOOD,
        }
    )
    got = read_class(root, manifest=None, scratch=tmp_path / "scratch")
    entries = by_student(got.entries)
    assert sorted(entries) == ["ivanov", "petrov"]
    assert entries["ivanov"].source == root / "ivanov"
    assert entries["petrov"].source == root / "petrov.ipynb"
    assert all(e.refused is None and e.time_from == "file" for e in got.entries)
    assert "notes.txt" in got.ignored and ".DS_Store" in got.ignored


def test_a_file_that_is_no_notebook_gets_a_verdict(make_class: ClassMaker, tmp_path: Path) -> None:
    root = make_class({"sidorov.pdf": GOOD, "kuznetsov.zip": GOOD})
    entries = by_student(read_class(root, manifest=None, scratch=tmp_path / "s").entries)
    refused = entries["sidorov"].refused
    assert refused is not None and refused.reason is Unusable.INVALID_NOTEBOOK
    assert "not a notebook" in refused.said("en")
    assert entries["kuznetsov"].refused is None  # a (broken) zip is graded: intake decides


def test_two_submissions_of_one_student_are_a_duplicate(
    make_class: ClassMaker, tmp_path: Path
) -> None:
    root = make_class({"ivanov.ipynb": GOOD, "ivanov/tiny.ipynb": GOOD, "petrov.ipynb": GOOD})
    entries = by_student(read_class(root, manifest=None, scratch=tmp_path / "s").entries)
    dup = entries["ivanov"]
    assert dup.refused is not None and dup.refused.reason is Unusable.DUPLICATE
    assert dup.source is None
    assert {p.name for p in dup.sources} == {"ivanov.ipynb", "ivanov"}
    assert entries["petrov"].refused is None


def _zip(path: Path, members: dict[str, Path], when: tuple[int, ...]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, source in members.items():
            info = zipfile.ZipInfo(name, date_time=when)  # type: ignore[arg-type]
            zf.writestr(info, source.read_bytes())
        zf.writestr("../escape.ipynb", b"{}")
        zf.writestr("__MACOSX/._x", b"junk")
    return path


def test_lms_zip_with_wrapping_folder_and_moodle_names(tmp_path: Path) -> None:
    good = fixture_nb(GOOD)
    archive = _zip(
        tmp_path / "hw1.zip",
        {
            "hw1/Ivan Ivanov_101_assignsubmission_file_/tiny.ipynb": good,
            "hw1/Petr Petrov_102_assignsubmission_file_/tiny.ipynb": good,
            "hw1/sidorov.ipynb": good,
        },
        (2026, 10, 2, 12, 30, 0),
    )
    got = read_class(archive, manifest=None, scratch=tmp_path / "scratch")
    entries = by_student(got.entries)
    assert sorted(entries) == ["Ivan_Ivanov_101", "Petr_Petrov_102", "sidorov"]
    assert all(
        e.source is not None and e.source.is_relative_to(tmp_path / "scratch") for e in got.entries
    )
    assert not (tmp_path / "escape.ipynb").exists()
    stamp = entries["sidorov"].submitted_at
    assert stamp is not None and stamp.tzinfo is not None
    assert stamp.replace(tzinfo=None) == datetime(2026, 10, 2, 12, 30)


def test_a_broken_class_zip_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "class.zip"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(GraderError, match=r"neither a folder nor a zip|cannot unpack"):
        read_class(bad, manifest=None, scratch=tmp_path / "s")


def test_manifest_gives_names_times_and_chooses_among_duplicates(
    make_class: ClassMaker, tmp_path: Path
) -> None:
    root = make_class(
        {"a1.ipynb": GOOD, "ivanov.ipynb": GOOD, "ivanov/tiny.ipynb": GOOD, "other.ipynb": GOOD}
    )
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "student,file,submitted_at\n"
        "Petrov,a1.ipynb,2026-10-03T10:00:00+03:00\n"
        "ivanov,ivanov.ipynb,2026-10-01 20:00\n"
        "ghost,ghost.ipynb,\n",
        encoding="utf-8",
    )
    got = read_class(root, manifest=manifest, scratch=tmp_path / "s")
    entries = by_student(got.entries)
    assert sorted(entries) == ["Petrov", "ghost", "ivanov", "other"]
    assert entries["Petrov"].source == root / "a1.ipynb"
    assert entries["Petrov"].submitted_at == datetime(
        2026, 10, 3, 10, tzinfo=timezone(timedelta(hours=3))
    )
    assert entries["Petrov"].time_from == "manifest"
    assert entries["ivanov"].refused is None and entries["ivanov"].source == root / "ivanov.ipynb"
    assert "ivanov" in got.ignored  # the folder the manifest did not choose
    ghost = entries["ghost"].refused
    assert ghost is not None and ghost.reason is Unusable.NOT_FOUND
    assert entries["other"].time_from == "file"


def test_manifest_errors_name_the_line(make_class: ClassMaker, tmp_path: Path) -> None:
    root = make_class({"a.ipynb": GOOD})
    manifest = tmp_path / "m.csv"
    manifest.write_text("student,file,submitted_at\na,a.ipynb,yesterday\n", encoding="utf-8")
    with pytest.raises(GraderError, match="line 2"):
        read_class(root, manifest=manifest, scratch=tmp_path / "s")
    manifest.write_text("name,path\n", encoding="utf-8")
    with pytest.raises(GraderError, match="no column student"):
        read_class(root, manifest=manifest, scratch=tmp_path / "s")


def test_times_come_from_git_commits(make_class: ClassMaker, tmp_path: Path) -> None:
    root = make_class({"ivanov.ipynb": GOOD, "petrov/tiny.ipynb": GOOD, "new.ipynb": GOOD})
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
        "GIT_COMMITTER_DATE": "2026-10-02T01:00:00+03:00",
        "GIT_AUTHOR_DATE": "2026-10-02T01:00:00+03:00",
    }
    run = {"cwd": root, "env": env, "check": True, "capture_output": True}
    subprocess.run(["git", "init", "-q"], **run)  # type: ignore[call-overload]
    subprocess.run(["git", "add", "ivanov.ipynb", "petrov"], **run)  # type: ignore[call-overload]
    subprocess.run(["git", "commit", "-qm", "x"], **run)  # type: ignore[call-overload]
    entries = by_student(read_class(root, manifest=None, scratch=tmp_path / "s").entries)
    expected = datetime(2026, 10, 2, 1, tzinfo=timezone(timedelta(hours=3)))
    # committed here, in the repository's first state: only the (student-set) committer date
    assert entries["ivanov"].submitted_at == expected
    assert entries["ivanov"].time_from == "git-committer"
    assert entries["petrov"].submitted_at == expected
    assert entries["new"].time_from == "file"  # not committed


def _git(cwd: Path, *args: str, date: str = "") -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "s",
        "GIT_AUTHOR_EMAIL": "s@s",
        "GIT_COMMITTER_NAME": "s",
        "GIT_COMMITTER_EMAIL": "s@s",
        "GIT_CONFIG_NOSYSTEM": "1",
        **({"GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date} if date else {}),
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def test_a_backdated_commit_counts_from_when_it_arrived(tmp_path: Path) -> None:
    """A student pushes after the deadline with GIT_COMMITTER_DATE set a month back: the
    instructor's clone saw that commit arrive with a pull, and that time is what counts."""
    server, student, course = tmp_path / "server.git", tmp_path / "student", tmp_path / "class"
    _git(tmp_path, "init", "-q", "--bare", str(server))
    _git(tmp_path, "clone", "-q", str(server), str(student))
    (student / "ivanov.ipynb").write_text(GOOD, encoding="utf-8")
    _git(student, "add", ".")
    _git(student, "commit", "-qm", "on time", date="2026-09-30T12:00:00+03:00")
    _git(student, "push", "-q", "origin", "HEAD")
    _git(tmp_path, "clone", "-q", str(server), str(course))  # the instructor, before the deadline
    (student / "petrov.ipynb").write_text(GOOD, encoding="utf-8")
    _git(student, "add", ".")
    _git(student, "commit", "-qm", "late, backdated", date="2026-09-01T12:00:00+03:00")
    _git(student, "push", "-q", "origin", "HEAD")
    before_pull = datetime.now().astimezone().replace(microsecond=0)
    _git(course, "pull", "-q", "--ff-only")
    entries = by_student(read_class(course, manifest=None, scratch=tmp_path / "s").entries)
    late = entries["petrov"]
    assert late.time_from == "git-arrival"
    assert late.submitted_at is not None and late.submitted_at >= before_pull
    first = entries["ivanov"]  # came with the clone: the committer date, flagged as such
    assert first.time_from == "git-committer"
    assert first.submitted_at == datetime(2026, 9, 30, 12, tzinfo=timezone(timedelta(hours=3)))


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GraderError, match="does not exist"):
        read_class(tmp_path / "nope", manifest=None, scratch=tmp_path / "s")
