"""Fixtures of the hidden tests of gd_backprop: hidden data and the R² that scores it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest


def r2(pred: Any, target: np.ndarray) -> float:
    """R² of ``pred`` against ``target``; -inf for predictions of the wrong shape or not finite."""
    pred = np.asarray(pred, dtype=np.float64).reshape(-1)
    if pred.shape != target.shape or not np.all(np.isfinite(pred)):
        return -np.inf
    return 1.0 - float(np.sum((pred - target) ** 2) / np.sum((target - target.mean()) ** 2))


@pytest.fixture(scope="session", name="r2")
def r2_fixture() -> Callable[[Any, np.ndarray], float]:
    return r2


@pytest.fixture(scope="session")
def gradcheck(hidden_data: Path) -> tuple[np.ndarray, np.ndarray]:
    """A small regression set (X (n, 6), y) for gradient checks and odd layer sizes."""
    with np.load(hidden_data / "gradcheck.npz", allow_pickle=False) as f:
        return f["X"], f["y"]


@pytest.fixture(scope="session")
def diabetes_test(hidden_data: Path) -> tuple[np.ndarray, np.ndarray]:
    """The hidden test split of the diabetes data: X and y, y never sent to the kernel."""
    X = np.load(hidden_data / "diabetes_test_X.npy", allow_pickle=False)
    y = np.load(hidden_data / "diabetes_test_y.npy", allow_pickle=False)
    return X, y
