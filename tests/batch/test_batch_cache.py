"""Cache keys, the stored-result check, the lock and the GPU slots."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from grader.batch.cache import assignment_fingerprint, cache_key, submission_digest
from grader.batch.gpus import GpuSlots, parse_gpus
from grader.batch.lock import LOCK_FILE, BatchLock, BatchLocked
from grader.core.errors import GraderError
from grader.core.results import GradeResult, Status
from grader.core.spec import Assignment, load_assignment
from grader.core.store import Record, Store


def test_fingerprint_follows_spec_tests_and_data(spec: Assignment) -> None:
    before = assignment_fingerprint(spec)
    assert assignment_fingerprint(spec) == before
    (spec.root / "tests" / "hidden" / "__pycache__").mkdir()
    (spec.root / "tests" / "hidden" / "__pycache__" / "x.pyc").write_bytes(b"noise")
    assert assignment_fingerprint(spec) == before  # caches do not count
    test = spec.root / "tests" / "hidden" / "test_counter.py"
    test.write_text(test.read_text() + "\n# fixed a test\n")
    after_test = assignment_fingerprint(spec)
    assert after_test != before
    (spec.root / "data" / "hidden" / "secret.txt").write_text("11")
    assert assignment_fingerprint(spec) != after_test


def test_submission_digest_covers_the_other_files(tmp_path: Path) -> None:
    folder = tmp_path / "ivanov"
    folder.mkdir()
    (folder / "tiny.ipynb").write_text("{}")
    first = submission_digest(folder)
    (folder / "weights.npy").write_bytes(b"\x00\x01")
    assert submission_digest(folder) != first
    assert submission_digest(folder / "tiny.ipynb") != submission_digest(folder)


def test_key_depends_on_every_input() -> None:
    base = {"submission": "s", "assignment": "a", "hidden": True, "submitted_at": None}
    keys = {cache_key(**base)}  # type: ignore[arg-type]
    for change in (
        {"submission": "s2"},
        {"assignment": "a2"},
        {"hidden": False},
        {"submitted_at": datetime(2026, 1, 1, tzinfo=UTC)},
    ):
        keys.add(cache_key(**{**base, **change}))  # type: ignore[arg-type]
    assert len(keys) == 5


def _result(status: Status = Status.GRADED) -> GradeResult:
    return GradeResult(
        assignment="tiny",
        assignment_version="1",
        submission="x",
        status=status,
        message="m",
        points=1,
        max_points=4,
    )


def _record(key: str) -> Record:
    return Record(student="ivanov", key=key, graded_at=datetime.now(UTC))


def test_stored_result_counts_only_when_valid_and_keyed(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save("ivanov", _result(), _record("k1"))
    assert store.cached("ivanov", "k1")
    assert not store.cached("ivanov", "k2")
    assert not store.cached("petrov", "k1")
    result = tmp_path / "ivanov" / "result.json"
    result.write_text(result.read_text()[:40])  # truncated by a crash
    assert not store.cached("ivanov", "k1")
    assert store.invalid() == ["ivanov"]
    store.save("ivanov", _result(Status.GRADER_ERROR), _record("k1"))
    assert not store.cached("ivanov", "k1")  # grader errors are always retried


def test_lock_refuses_a_second_batch_and_names_the_holder(tmp_path: Path) -> None:
    with BatchLock(tmp_path):
        with pytest.raises(BatchLocked) as info, BatchLock(tmp_path):
            pass
        assert f"pid {__import__('os').getpid()}" in info.value.holder
    with BatchLock(tmp_path):  # released on exit
        pass


def test_lock_is_held_across_processes_and_freed_when_the_holder_dies(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from grader.batch.lock import BatchLock\n"
        "with BatchLock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(BatchLocked, match=f"pid {holder.pid}"), BatchLock(tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait()
    deadline = time.monotonic() + 5
    while True:
        try:
            with BatchLock(tmp_path):
                break
        except BatchLocked:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert (tmp_path / LOCK_FILE).exists()


def test_gpu_slots_hand_out_at_most_k_per_gpu() -> None:
    slots = GpuSlots(parse_gpus("0, 1"), per_gpu=2)
    got = [slots.acquire() for _ in range(5)]
    assert sorted(g for g in got if g) == ["0", "0", "1", "1"] and got[-1] is None
    assert got[:2] == ["0", "1"]  # least busy first: spread over GPUs
    slots.release("1")
    assert slots.acquire() == "1"
    with pytest.raises(ValueError):
        GpuSlots(["0"]).release("0")
    assert GpuSlots([]).acquire() is None
    with pytest.raises(GraderError):
        parse_gpus("0,0")


def test_spec_fixture_has_short_limits(spec: Assignment) -> None:
    again = load_assignment(spec.root)
    assert again.resources.cell_timeout == 2 and again.late.deadline is not None
