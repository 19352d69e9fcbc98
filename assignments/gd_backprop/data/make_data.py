"""Generate the data files of the gd_backprop assignment (deterministic; run once).

    python assignments/gd_backprop/data/make_data.py

Needs numpy and scikit-learn (only here: the notebook and the tests read the files with numpy).
Running it again rewrites byte-identical arrays; see DATA.md for what each file holds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_diabetes

HERE = Path(__file__).resolve().parent
PUBLIC = HERE / "public"
HIDDEN = HERE / "hidden"
SPLIT_SEED = 20260901


def diabetes() -> None:
    """Diabetes: 80 % train (public), 20 % test (hidden); features standardized by train stats."""
    data = load_diabetes(scaled=False)
    X, y = data.data.astype(np.float64), data.target.astype(np.float64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    n_train = int(round(0.8 * len(y)))
    train, test = order[:n_train], order[n_train:]
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    X = (X - mean) / std
    names = np.array(data.feature_names, dtype="<U8")
    np.savez(PUBLIC / "diabetes_train.npz", X=X[train], y=y[train], feature_names=names)
    np.save(HIDDEN / "diabetes_test_X.npy", X[test])
    np.save(HIDDEN / "diabetes_test_y.npy", y[test])


def linear() -> None:
    """Well-conditioned linear regression with noise: GD must reach the least-squares answer."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 5)) * np.array([1.0, 0.8, 1.2, 0.6, 1.0])
    w = np.array([1.5, -2.0, 0.7, 3.0, -0.4])
    y = X @ w + 4.0 + 0.3 * rng.normal(size=200)
    np.savez(HIDDEN / "linear_train.npz", X=X, y=y)


def nonlinear() -> None:
    """A smooth non-linear target that a linear model fits badly and a small MLP fits well."""
    rng = np.random.default_rng(2)

    def target(X: np.ndarray) -> np.ndarray:
        return np.sin(2 * X[:, 0]) + np.abs(X[:, 1]) - X[:, 2] * X[:, 3] + 0.5 * X[:, 0] * X[:, 1]

    X_train = rng.uniform(-1.5, 1.5, size=(400, 4))
    y_train = target(X_train) + 0.05 * rng.normal(size=400)
    X_test = rng.uniform(-1.5, 1.5, size=(200, 4))
    y_test = target(X_test) + 0.05 * rng.normal(size=200)
    np.savez(HIDDEN / "nonlinear_train.npz", X=X_train, y=y_train)
    np.save(HIDDEN / "nonlinear_test_X.npy", X_test)
    np.save(HIDDEN / "nonlinear_test_y.npy", y_test)


def gradcheck() -> None:
    """Small inputs for finite-difference checks of the gradients."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 6))
    y = rng.normal(size=30)
    np.savez(HIDDEN / "gradcheck.npz", X=X, y=y)


def main() -> None:
    PUBLIC.mkdir(exist_ok=True)
    HIDDEN.mkdir(exist_ok=True)
    diabetes()
    linear()
    nonlinear()
    gradcheck()


if __name__ == "__main__":
    main()
