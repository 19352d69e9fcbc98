"""Intake: a file, a folder or a zip becomes one validated notebook, or a verdict saying why not."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from grader import intake as intake_module
from grader.errors import SubmissionError
from grader.intake import intake, read_notebook
from grader.results import Status

MakeNb = Callable[..., Path]
PREFERRED = "tiny.ipynb"


def take(given: Path, tmp_path: Path) -> intake_module.Submission:
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    return intake(given, preferred=PREFERRED, scratch=scratch)


def refused(given: Path, tmp_path: Path) -> SubmissionError:
    with pytest.raises(SubmissionError) as info:
        take(given, tmp_path)
    return info.value


def test_file(make_nb: MakeNb, tmp_path: Path) -> None:
    path = make_nb("x = 1", name="anything.ipynb")
    sub = take(path, tmp_path)
    assert sub.path == path
    assert sub.folder is None
    assert sub.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [c.source for c in sub.nb.cells] == ["x = 1"]


def test_folder_with_one_notebook(make_nb: MakeNb, tmp_path: Path) -> None:
    folder = tmp_path / "submission"
    path = make_nb("x = 1", name="my_homework.ipynb", folder=folder / "nested")
    (folder / ".ipynb_checkpoints").mkdir()
    make_nb("old = 1", name="my_homework-checkpoint.ipynb", folder=folder / ".ipynb_checkpoints")
    sub = take(folder, tmp_path)
    assert (sub.path, sub.folder) == (path, folder)


def test_folder_with_several_notebooks_is_ambiguous(make_nb: MakeNb, tmp_path: Path) -> None:
    folder = tmp_path / "submission"
    make_nb("a = 1", name="draft.ipynb", folder=folder)
    make_nb("b = 1", name="final.ipynb", folder=folder)
    exc = refused(folder, tmp_path)
    assert exc.status == Status.INVALID_NOTEBOOK
    assert PREFERRED in exc.hint


def test_folder_with_several_notebooks_prefers_the_spec_name(
    make_nb: MakeNb, tmp_path: Path
) -> None:
    folder = tmp_path / "submission"
    make_nb("a = 1", name="draft.ipynb", folder=folder)
    chosen = make_nb("b = 1", name=PREFERRED, folder=folder)
    assert take(folder, tmp_path).path == chosen


def test_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    assert refused(folder, tmp_path).status == Status.NOT_FOUND


def test_missing_path(tmp_path: Path) -> None:
    assert refused(tmp_path / "nope.ipynb", tmp_path).status == Status.NOT_FOUND


def _zip(path: Path, entries: dict[str, bytes], symlinks: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def test_zip(make_nb: MakeNb, tmp_path: Path) -> None:
    nb = make_nb("x = 1", name="src.ipynb").read_bytes()
    archive = _zip(tmp_path / "hw.zip", {"hw/tiny.ipynb": nb, "hw/data.csv": b"1,2\n"})
    sub = take(archive, tmp_path)
    assert sub.path.name == PREFERRED and sub.path.read_bytes() == nb
    assert sub.folder is not None and (sub.folder / "hw" / "data.csv").read_bytes() == b"1,2\n"
    assert sub.folder.is_relative_to(tmp_path / "scratch")
    assert sub.sha256 == hashlib.sha256(nb).hexdigest()


def test_zip_slip_absolute_and_symlink_entries_are_ignored(make_nb: MakeNb, tmp_path: Path) -> None:
    nb = make_nb("x = 1", name="src.ipynb").read_bytes()
    archive = _zip(
        tmp_path / "evil.zip",
        {
            "tiny.ipynb": nb,
            "../evil": b"escaped",
            "../../evil2": b"escaped",
            "/abs_evil": b"absolute",
        },
        symlinks={"passwd_link": "/etc/passwd", "up_link": "../../"},
    )
    sub = take(archive, tmp_path)
    assert sub.folder is not None
    extracted = sorted(p.relative_to(sub.folder).as_posix() for p in sub.folder.rglob("*"))
    assert extracted == ["tiny.ipynb"]
    everything = {p.name for p in tmp_path.rglob("*")}
    assert not everything & {"evil", "evil2", "abs_evil", "passwd_link", "up_link"}


def test_zip_bomb_is_refused(
    make_nb: MakeNb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = make_nb("x = 1", name="src.ipynb").read_bytes()
    archive = _zip(tmp_path / "big.zip", {"tiny.ipynb": nb, "zeros.bin": bytes(10_000)})
    monkeypatch.setattr(intake_module, "MAX_ZIP_BYTES", 5_000)
    assert refused(archive, tmp_path).status == Status.INVALID_NOTEBOOK


def test_invalid_files_are_refused(invalid_nb: Path, tmp_path: Path) -> None:
    exc = refused(invalid_nb, tmp_path)
    assert exc.status == Status.INVALID_NOTEBOOK
    assert invalid_nb.name in exc.message
    assert exc.hint


def test_too_large(make_nb: MakeNb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_nb("x = 1")
    monkeypatch.setattr(intake_module, "MAX_NOTEBOOK_BYTES", path.stat().st_size - 1)
    assert refused(path, tmp_path).status == Status.INVALID_NOTEBOOK
    monkeypatch.setattr(intake_module, "MAX_NOTEBOOK_BYTES", path.stat().st_size)
    assert take(path, tmp_path).path == path


def test_schema_invalid_outputs_are_stripped_and_accepted(notebooks: Path) -> None:
    path = notebooks / "graded" / "outputs_mangled.ipynb"
    raw = json.loads(path.read_bytes())
    assert len(raw["cells"][1]["outputs"]) == 2  # the fixture really is mangled
    nb, digest = read_notebook(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.outputs for c in code] == [[], []]
    assert code[0].source == raw["cells"][1]["source"]
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()


def _one_code_cell(path: Path, source: str | list[str], minor: int = 4) -> Path:
    """Write a raw nbformat 4.``minor`` notebook of one code cell without an id to ``path``."""
    cell = {
        "cell_type": "code",
        "metadata": {},
        "outputs": [],
        "execution_count": None,
        "source": source,
    }
    notebook = {"nbformat": 4, "nbformat_minor": minor, "metadata": {}, "cells": [cell]}
    path.write_bytes(json.dumps(notebook).encode())
    return path


def test_sources_as_line_lists_are_joined(tmp_path: Path) -> None:
    nb, _ = read_notebook(_one_code_cell(tmp_path / "lines.ipynb", ["x = 1\n", "y = 2"]))
    assert nb.cells[0].source == "x = 1\ny = 2"


def test_cells_without_ids_are_accepted(tmp_path: Path) -> None:
    path = _one_code_cell(tmp_path / "no_ids.ipynb", "x = 1", minor=5)
    with pytest.warns(Warning):  # nbformat warns that it adds the ids
        nb, _ = read_notebook(path)
    assert nb.cells[0].source == "x = 1"


def test_whitespace_only_code_is_no_code(tmp_path: Path) -> None:
    exc = refused(_one_code_cell(tmp_path / "blank.ipynb", "  \n\t"), tmp_path)
    assert exc.status == Status.INVALID_NOTEBOOK


# ---------------------------------------------------------------- submissions are data (#11)


@pytest.fixture
def no_hang() -> Iterator[None]:
    """Fail instead of hanging: a read of /dev/zero or a FIFO never ends by itself."""

    def stop(signum: int, frame: object) -> None:
        raise AssertionError("intake blocked or read without end")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(30)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_notebook_linked_to_the_reference_is_refused(make_nb: MakeNb, tmp_path: Path) -> None:
    reference = make_nb("x = 1", name="reference.ipynb")
    link = tmp_path / "ivanov.ipynb"
    link.symlink_to(reference)
    exc = refused(link, tmp_path)
    assert exc.status == Status.INVALID_NOTEBOOK and "symbolic link" in exc.message
    folder = tmp_path / "petrov"
    folder.mkdir()
    (folder / "tiny.ipynb").symlink_to(reference)
    exc = refused(folder, tmp_path)
    assert exc.status == Status.INVALID_NOTEBOOK and "symbolic link" in exc.message


@pytest.mark.usefixtures("no_hang")
def test_links_to_devices_and_fifos_are_refused_without_reading(tmp_path: Path) -> None:
    zero = tmp_path / "zero.ipynb"
    zero.symlink_to("/dev/zero")
    fifo = tmp_path / "fifo.ipynb"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    os.mkfifo(folder / "tiny.ipynb")
    for given in (zero, fifo, folder):
        exc = refused(given, tmp_path)
        assert exc.status == Status.INVALID_NOTEBOOK, given
    assert "FIFO" in refused(fifo, tmp_path).message


@pytest.mark.usefixtures("no_hang")
def test_the_sandbox_copy_holds_no_link_device_or_fifo(make_nb: MakeNb, tmp_path: Path) -> None:
    from grader.workdir import prepare

    folder = tmp_path / "sub"
    make_nb("x = 1", folder=folder)
    (folder / "data.csv").write_text("1\n")
    (folder / "passwd").symlink_to("/etc/passwd")
    (folder / "zero").symlink_to("/dev/zero")
    os.mkfifo(folder / "pipe")
    (tmp_path / "w").mkdir()
    work = prepare(take(folder, tmp_path), tmp_path / "w", notebook_name="tiny.ipynb")
    assert sorted(p.name for p in work.iterdir()) == ["data.csv", "tiny.ipynb"]


def _zip_entries(path: Path, names: list[str], data: bytes = b"") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name in names:
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("what", "names"),
    [
        ("a 300-byte name", ["x" * 300 + ".txt"]),
        ("1,500 folders deep", ["d/" * 1500 + "f.txt"]),
        ("60,000 empty files", [f"f{i}.txt" for i in range(60_000)]),
    ],
)
def test_unusable_zips_are_verdicts(
    make_nb: MakeNb, tmp_path: Path, what: str, names: list[str]
) -> None:
    """Each was an uncaught OSError, RecursionError, or 23 s of unpacking."""
    nb = make_nb("x = 1", name="src.ipynb").read_bytes()
    archive = _zip_entries(tmp_path / "hw.zip", names)
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("tiny.ipynb", nb)
    started = time.monotonic()
    exc = refused(archive, tmp_path)
    assert exc.status == Status.INVALID_NOTEBOOK, what
    assert time.monotonic() - started < 10
    assert not (tmp_path / "scratch" / "unzipped" / "tiny.ipynb").exists()


def test_a_zip_with_a_bad_crc_is_a_verdict(make_nb: MakeNb, tmp_path: Path) -> None:
    nb = make_nb("x = 1", name="src.ipynb").read_bytes()
    archive = tmp_path / "hw.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("tiny.ipynb", nb)
    raw = bytearray(archive.read_bytes())
    at = raw.index(nb[:40])
    raw[at + 5] ^= 0xFF  # the data no longer matches its CRC
    archive.write_bytes(bytes(raw))
    exc = refused(archive, tmp_path)
    assert exc.status == Status.INVALID_NOTEBOOK and "damaged" in exc.message
