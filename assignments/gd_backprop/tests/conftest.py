"""Fixtures shared by the public and hidden tests of gd_backprop (host side).

The grader imports test files with pytest's importlib mode and puts nothing on sys.path, so a
test file cannot import a helper module: each helper below reaches the tests as a fixture of the
same name that returns it. The reference MLP is the one in README.md: ReLU hidden layers, a
linear output, L = mean((y_hat - y)**2). Students get this file with tests/public, so it holds
nothing about the hidden tests; their own fixtures are in hidden/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

Arrays = list[np.ndarray]


# ---------------------------------------------------------------- helpers
def scalar(value: Any, what: str) -> float:
    """A number sent back by the notebook as a float; fails unless it holds exactly one value."""
    arr = np.asarray(value, dtype=np.float64)
    assert arr.size == 1, f"{what} должен быть числом (float), а получена форма {arr.shape}"
    return float(arr.reshape(-1)[0])


def fetch(model: Any) -> tuple[Arrays, Arrays]:
    """``coefs_`` and ``intercepts_`` of an MLPRegressor in the kernel, as float64 arrays."""
    coefs = [np.asarray(W, dtype=np.float64) for W in model.get("coefs_")]
    intercepts = [np.asarray(b, dtype=np.float64) for b in model.get("intercepts_")]
    return coefs, intercepts


def forward(coefs: Arrays, intercepts: Arrays, X: np.ndarray) -> np.ndarray:
    """The reference MLP's predictions (n,)."""
    a = X
    for i, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        a = a @ W + b
        if i < len(coefs) - 1:
            a = np.maximum(a, 0.0)
    return a.reshape(-1)


def loss(coefs: Arrays, intercepts: Arrays, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((forward(coefs, intercepts, X) - y) ** 2))


def numeric_gradients(
    coefs: Arrays, intercepts: Arrays, X: np.ndarray, y: np.ndarray, eps: float = 1e-6
) -> tuple[Arrays, Arrays]:
    """Central differences of ``loss`` with respect to every weight."""
    params = [p.copy() for p in (*coefs, *intercepts)]
    n = len(coefs)
    grads = []
    for p in params:
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + eps
            plus = loss(params[:n], params[n:], X, y)
            p[idx] = old - eps
            minus = loss(params[:n], params[n:], X, y)
            p[idx] = old
            g[idx] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads[:n], grads[n:]


def relative_error(got: Any, want: Any) -> float:
    """‖got − want‖ / max(‖got‖, ‖want‖); infinite when the shapes differ."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return np.inf
    norm = max(np.linalg.norm(got), np.linalg.norm(want), 1e-12)
    return float(np.linalg.norm(got - want) / norm)


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def diabetes(public_data: Path) -> tuple[np.ndarray, np.ndarray]:
    """The training set students get: X (n, 10) and y, not standardized."""
    with np.load(public_data / "diabetes_train.npz", allow_pickle=False) as f:
        return f["X"], f["y"]


def _provide(helper: Callable[..., Any]) -> Any:
    """A fixture named like ``helper`` that returns it."""
    return pytest.fixture(scope="session", name=helper.__name__)(lambda: helper)


scalar_fixture = _provide(scalar)
fetch_fixture = _provide(fetch)
forward_fixture = _provide(forward)
loss_fixture = _provide(loss)
numeric_gradients_fixture = _provide(numeric_gradients)
relative_error_fixture = _provide(relative_error)
