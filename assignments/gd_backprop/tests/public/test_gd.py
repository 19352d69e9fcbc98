"""Public tests, part 1: LinearRegressionGD (0.5 of the 2 points of component "gd").

Students run these with `grade check`; every assertion says what was expected. Shared fixtures
(``diabetes``, ``scalar``) are in ../conftest.py.
"""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.points(0.1, component="gd", hint="Проверьте формы coef_, intercept_ и predict(X).")
def test_attributes_and_shapes(nb, diabetes, scalar):
    X, y = diabetes[0][:50], diabetes[1][:50]
    model = nb.new("LinearRegressionGD", learning_rate=0.01, max_iter=5)
    model.train(X, y)
    coef = np.asarray(model.get("coef_"))
    assert coef.shape == (X.shape[1],), f"coef_: нужна форма (d,) = (10,), получена {coef.shape}"
    scalar(model.get("intercept_"), "intercept_")
    pred = np.asarray(model.predict(X))
    assert pred.shape == (50,), f"predict(X): нужна форма (n,) = (50,), получена {pred.shape}"
    history = list(model.get("loss_history_"))
    assert len(history) == 5, f"в loss_history_ нужно max_iter = 5 значений, а их {len(history)}"


@pytest.mark.points(0.1, component="gd", hint="loss_history_[k] — MSE перед k-м шагом.")
def test_loss_history_starts_at_zero_model(nb, diabetes):
    X, y = diabetes
    model = nb.new("LinearRegressionGD", learning_rate=0.05, max_iter=20)
    model.train(X, y)
    history = np.asarray(model.get("loss_history_"), dtype=np.float64)
    assert history.shape == (20,), f"нужно 20 значений loss_history_, получено {history.shape}"
    zero_model = float(np.mean(y**2))
    assert history[0] == pytest.approx(zero_model, rel=1e-6), (
        "loss_history_[0] должен быть MSE модели с нулевыми весами (веса инициализируются "
        f"нулями, значение записывается до шага): нужно {zero_model:.4f}, а не {history[0]:.4f}"
    )
    assert np.all(np.diff(history) <= 1e-9 * history[0]), (
        f"при learning_rate=0.05 ошибка должна только убывать; loss_history_ = {history[:6]}..."
    )


@pytest.mark.points(0.15, component="gd", hint="Градиент MSE: 2/n · Xᵀ(Xw + b − y).")
def test_loss_gradient_formula(nb, diabetes, scalar):
    X, y = diabetes[0][:40], diabetes[1][:40]
    model = nb.new("LinearRegressionGD", learning_rate=0.01, max_iter=3)
    model.train(X, y)
    coef = np.asarray(model.get("coef_"), dtype=np.float64)
    intercept = scalar(model.get("intercept_"), "intercept_")
    result = model.loss_gradient(X, y)
    assert isinstance(result, tuple | list) and len(result) == 2, (
        "loss_gradient(X, y) должен вернуть пару (grad_coef, grad_intercept)"
    )
    grad_coef = np.asarray(result[0], dtype=np.float64)
    grad_intercept = scalar(result[1], "grad_intercept")
    residual = X @ coef + intercept - y
    want_coef, want_intercept = 2.0 / len(y) * X.T @ residual, 2.0 * residual.mean()
    assert grad_coef.shape == (10,), f"grad_coef: нужна форма (10,), получена {grad_coef.shape}"
    np.testing.assert_allclose(
        grad_coef,
        want_coef,
        rtol=1e-6,
        atol=1e-9,
        err_msg="grad_coef не совпадает с 2/n · Xᵀ(Xw + b − y) в текущих весах",
    )
    assert grad_intercept == pytest.approx(want_intercept, rel=1e-6, abs=1e-9), (
        f"grad_intercept должен быть 2/n · Σ(Xw + b − y) = {want_intercept:.6f}, "
        f"а получено {grad_intercept:.6f}"
    )


@pytest.mark.points(0.15, component="gd", hint="GD должен сходиться к решению МНК.")
def test_converges_to_least_squares(nb, diabetes):
    X, y = diabetes
    model = nb.new("LinearRegressionGD", learning_rate=0.1, max_iter=1000)
    model.train(X, y)
    pred = np.ravel(model.predict(X))
    A = np.column_stack([X, np.ones(len(X))])
    best = float(np.mean((A @ np.linalg.lstsq(A, y, rcond=None)[0] - y) ** 2))
    mse = float(np.mean((pred - y) ** 2))
    assert mse <= 1.01 * best, (
        f"после 1000 шагов с learning_rate=0.1 MSE на обучении = {mse:.2f}, а у решения МНК "
        f"(np.linalg.lstsq) {best:.2f}: GD не сходится"
    )
