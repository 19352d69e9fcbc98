"""GPU slots: at most ``per_gpu`` submissions at a time on each GPU given with ``--gpus``."""

from __future__ import annotations

from grader.core.errors import GraderError


def parse_gpus(text: str | None) -> list[str]:
    """``"0,1"`` → ``["0", "1"]``; ``"all"`` stays one slot name; empty/None → none."""
    if not text:
        return []
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if len(set(ids)) != len(ids):
        raise GraderError(f"--gpus {text!r} names a GPU twice", hint="e.g. --gpus 0,1")
    return ids


class GpuSlots:
    """Hands out GPU ids; a submission holds one from start to finish."""

    def __init__(self, gpus: list[str], per_gpu: int = 1) -> None:
        if per_gpu < 1:
            raise GraderError(f"--per-gpu must be at least 1, not {per_gpu}")
        self.per_gpu = per_gpu
        self.busy: dict[str, int] = dict.fromkeys(gpus, 0)

    @property
    def capacity(self) -> int:
        return len(self.busy) * self.per_gpu

    def acquire(self) -> str | None:
        """The least busy GPU with a free slot, or None when all are full (or none given)."""
        free = [(n, gpu) for gpu, n in self.busy.items() if n < self.per_gpu]
        if not free:
            return None
        _, gpu = min(free, key=lambda item: item[0])
        self.busy[gpu] += 1
        return gpu

    def release(self, gpu: str) -> None:
        if self.busy.get(gpu, 0) <= 0:
            raise ValueError(f"GPU {gpu} was not handed out")
        self.busy[gpu] -= 1
