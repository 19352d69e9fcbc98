"""A notebook which defines its own ``pytest``, tampers with ``assert``, or writes a fake results
file cannot change its score, and nothing from the sandbox is unpickled.

Every notebook in ``fixtures/notebooks/hostile/`` is the honest broken notebook
(``graded/broken_honest``) plus an attack; each must score exactly like the honest one. Each is
graded with ``pickle`` and ``numpy.load(allow_pickle=True)`` booby-trapped on the host."""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.core.results import GradeResult, Outcome, Status
from grader.core.spec import Assignment
from grader.pipeline.grading import Options, grade_submission
from grader.sandbox.local import LocalSandbox

FAKE_RESULT_FILES = [
    Path("/tmp") / n for n in ("result.json", "results.json", "grade.json", ".pytest_cache")
]
MARKERS = ("PWNED_BY_REDUCE", "PWNED_BY_PICKLE")


@dataclass
class Guard:
    pickle_calls: list[str] = field(default_factory=list)
    np_load_allow_pickle: list[bool] = field(default_factory=list)


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch) -> Guard:
    """Unpickling on the host is recorded and refused for the duration of the test."""
    seen = Guard()

    def refuse(name: str) -> Callable[..., Any]:
        def trap(*args: Any, **kwargs: Any) -> Any:
            seen.pickle_calls.append(name)
            raise AssertionError(f"{name} was called on the host")

        return trap

    for name in ("loads", "load", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse(f"pickle.{name}"))
    real_load = np.load

    def checked_load(
        file: Any, mmap_mode: Any = None, allow_pickle: bool = False, *args: Any, **kwargs: Any
    ) -> Any:
        seen.np_load_allow_pickle.append(bool(allow_pickle))
        if allow_pickle:
            raise AssertionError("numpy.load(allow_pickle=True) on the host")
        return real_load(file, mmap_mode, allow_pickle, *args, **kwargs)

    monkeypatch.setattr(np, "load", checked_load)
    return seen


@pytest.fixture
def fake_results_cleanup() -> Iterator[None]:
    """Removes the fake result files a hostile kernel writes into /tmp (only those it made)."""
    before = {p for p in FAKE_RESULT_FILES if p.exists()}
    yield
    for path in FAKE_RESULT_FILES:
        if path in before or not path.exists():
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def test_the_guard_catches_unpickling(guard: Guard, tmp_path: Path) -> None:
    """The traps work, so the security tests below cannot pass by accident."""
    with pytest.raises(AssertionError):
        pickle.loads(pickle.dumps(1))
    np.save(tmp_path / "a.npy", np.arange(3))
    assert np.load(tmp_path / "a.npy").tolist() == [0, 1, 2]
    with pytest.raises(AssertionError):
        np.load(tmp_path / "a.npy", allow_pickle=True)
    with pytest.raises(AssertionError):
        np.load(tmp_path / "a.npy", None, True)
    assert guard.pickle_calls == ["pickle.loads"]
    assert guard.np_load_allow_pickle == [False, True, True]


def _points(result: GradeResult) -> dict[str, float]:
    return {t.id: t.points for t in result.tests}


def test_honest_broken_notebook_gets_nothing(graded: Callable[[str], GradeResult]) -> None:
    honest = graded("graded/broken_honest")
    assert (honest.status, honest.points) == (Status.GRADED, 0.0)
    assert len(honest.tests) == 3


def test_hostile_notebook_scores_like_the_honest_one(
    hostile_nb: Path,
    tiny: Assignment,
    local: LocalSandbox,
    guard: Guard,
    graded: Callable[[str], GradeResult],
    fake_results_cleanup: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    honest = graded("graded/broken_honest")
    monkeypatch.chdir(tmp_path)  # whatever an unpickled payload would create lands here
    result = grade_submission(tiny, hostile_nb, options=Options(sandbox=local))

    assert result.status == Status.GRADED, result.message
    assert result.cell_errors == []  # the attack itself ran
    assert result.points == honest.points == 0.0
    assert _points(result) == _points(honest)
    assert not [t.id for t in result.tests if t.outcome in (Outcome.PASSED, Outcome.PARTIAL)]
    assert [c.points for c in result.components] == [c.points for c in honest.components]

    assert guard.pickle_calls == []
    assert guard.np_load_allow_pickle and not any(guard.np_load_allow_pickle)
    assert not [m for m in MARKERS if list(tmp_path.rglob(m)) or Path(m).exists()]


def test_fake_results_were_really_written(
    tiny: Assignment, local: LocalSandbox, notebooks: Path, fake_results_cleanup: None
) -> None:
    """The fake-results attack above is not a no-op: its files do appear in /tmp."""
    missing = [p for p in FAKE_RESULT_FILES if not p.exists()]
    result = grade_submission(
        tiny,
        notebooks / "hostile/fake_results_files.ipynb",
        options=Options(sandbox=local, hidden=False),
    )
    assert result.points == 0.0
    assert all(p.exists() for p in missing)
