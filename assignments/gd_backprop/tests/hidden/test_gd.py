"""Hidden tests, part 1: LinearRegressionGD (1.5 of the 2 points of component "gd").

Inputs and training targets may go to the kernel; test labels and expected values stay here.
The expected weights come from this file's own numpy implementation of the spec.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.testing import scale


@pytest.fixture(scope="module")
def linear(hidden_data):
    with np.load(hidden_data / "linear_train.npz", allow_pickle=False) as f:
        return f["X"], f["y"]


@pytest.fixture(scope="module")
def weights(scalar):
    """``weights(model)``: ``coef_`` (d,) and ``intercept_`` of a model in the kernel."""

    def get(model):
        coef = np.asarray(model.get("coef_"), dtype=np.float64).reshape(-1)
        return coef, scalar(model.get("intercept_"), "intercept_")

    return get


def trained(nb, X, y, **params):
    model = nb.new("LinearRegressionGD", **params)
    model.train(X, y)
    return model


def _reference_gd(X, y, learning_rate, max_iter):
    """Full-batch GD on L = mean((Xw + b - y)**2) from w = 0, b = 0 (the spec)."""
    w, b, history = np.zeros(X.shape[1]), 0.0, []
    for _ in range(max_iter):
        r = X @ w + b - y
        history.append(float(np.mean(r**2)))
        w, b = w - learning_rate * 2.0 / len(y) * (X.T @ r), b - learning_rate * 2.0 * r.mean()
    return w, b, np.array(history)


@pytest.mark.points(
    0.4,
    component="gd",
    hint="После max_iter шагов веса должны совпасть с полным GD из нулей: "
    "w ← w − lr·2/n·Xᵀ(Xw+b−y), b ← b − lr·2/n·Σ(Xw+b−y), ровно max_iter шагов.",
)
def test_exact_gd_trajectory(nb, linear, weights, credit):
    X, y = linear
    model = trained(nb, X, y, learning_rate=0.03, max_iter=7)
    coef, intercept = weights(model)
    want_coef, want_intercept, want_history = _reference_gd(X, y, 0.03, 7)
    np.testing.assert_allclose(coef, want_coef, rtol=1e-6, atol=1e-9)
    assert intercept == pytest.approx(want_intercept, rel=1e-6, abs=1e-9)
    history = np.asarray(model.get("loss_history_"), dtype=np.float64).reshape(-1)
    if history.shape != want_history.shape or not np.allclose(history, want_history, rtol=1e-6):
        credit(0.75, "веса верны, но loss_history_[k] не равен MSE перед k-м шагом")


@pytest.mark.points(
    0.3,
    component="gd",
    hint="loss_gradient(X, y) должен считать градиент MSE в текущих весах для любых X, y "
    "(а не для обучающей выборки) и не менять веса.",
)
def test_loss_gradient_on_new_inputs(nb, linear, gradcheck, weights, scalar):
    model = trained(nb, *linear, learning_rate=0.05, max_iter=4)
    coef, intercept = weights(model)
    X2, y2 = gradcheck[0][:17, :5], gradcheck[1][:17]
    grad_coef, grad_intercept = model.loss_gradient(X2, y2)
    r = X2 @ coef + intercept - y2
    np.testing.assert_allclose(
        np.asarray(grad_coef, dtype=np.float64).reshape(-1), 2.0 / len(y2) * X2.T @ r, rtol=1e-6
    )
    assert scalar(grad_intercept, "grad_intercept") == pytest.approx(2.0 * r.mean(), rel=1e-6)
    after = weights(model)
    np.testing.assert_array_equal(after[0], coef, err_msg="loss_gradient changed coef_")
    assert after[1] == intercept, "loss_gradient changed intercept_"


@pytest.mark.points(
    0.2,
    component="gd",
    hint="learning_rate и max_iter из конструктора должны использоваться в train.",
)
def test_hyperparameters_are_used(nb, linear, weights):
    def coef_after(**params):
        model = trained(nb, *linear, **params)
        history = model.get("loss_history_")
        assert len(history) == params["max_iter"], (
            f"len(loss_history_) = {len(history)} for max_iter = {params['max_iter']}"
        )
        return weights(model)[0]

    one = coef_after(learning_rate=0.02, max_iter=1)
    many = coef_after(learning_rate=0.02, max_iter=9)
    assert not np.allclose(one, many), "max_iter ignored: 1 and 9 steps give the same weights"
    slow = coef_after(learning_rate=0.005, max_iter=3)
    fast = coef_after(learning_rate=0.05, max_iter=3)
    assert not np.allclose(slow, fast), "learning_rate ignored: 0.005 and 0.05 agree"


@pytest.mark.points(
    0.1,
    component="gd",
    hint="predict(X) возвращает массив формы (n,); модель должна работать при любом d, даже d = 1.",
)
def test_shapes_for_other_sizes(nb, gradcheck):
    X, y = gradcheck
    for d, n in [(1, 9), (6, 30)]:
        model = trained(nb, X[:n, :d], y[:n], learning_rate=0.01, max_iter=2)
        assert np.asarray(model.get("coef_")).shape == (d,), f"coef_ shape for d = {d}"
        pred = np.asarray(model.predict(X[:n, :d]))
        assert pred.shape == (n,), f"predict shape {pred.shape}, expected {(n,)}"


@pytest.mark.points(
    0.3,
    component="gd",
    hint="При learning_rate=0.1 и max_iter=500 на хорошо обусловленных данных GD должен "
    "сойтись к решению МНК (np.linalg.lstsq) с точностью 1e-3.",
)
def test_converges_to_least_squares(nb, linear, weights):
    X, y = linear
    coef, intercept = weights(trained(nb, X, y, learning_rate=0.1, max_iter=500))
    solution = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)[0]
    np.testing.assert_allclose(coef, solution[:-1], atol=1e-3)
    assert intercept == pytest.approx(solution[-1], abs=1e-3)


@pytest.mark.points(
    0.2,
    component="gd",
    hint="Модель, обученная на data/diabetes_train.npz (learning_rate=0.1, max_iter=1000), "
    "должна давать на скрытой тестовой выборке R² почти как у МНК.",
)
def test_diabetes_test_r2(nb, diabetes, diabetes_test, r2, credit):
    (X, y), (X_test, y_test) = diabetes, diabetes_test
    model = trained(nb, X, y, learning_rate=0.1, max_iter=1000)
    score = r2(model.predict(X_test), y_test)
    assert np.isfinite(score), "predictions are not usable"
    solution = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)[0]
    best = r2(np.column_stack([X_test, np.ones(len(X_test))]) @ solution, y_test)
    fraction = scale(score, zero=best - 0.2, full=best - 0.01)
    assert fraction > 0, f"test R² = {score:.3f}, least squares reach {best:.3f}"
    credit(fraction, f"R² на скрытой выборке {score:.3f}")
