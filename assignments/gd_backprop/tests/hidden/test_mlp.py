"""Hidden tests, part 2: MLPRegressor (1.5 of the 2 points of component "mlp").

The host holds its own numpy model of the spec (forward pass, loss and central finite
differences in ../conftest.py, backprop here) and checks the weights fetched from the kernel
against it.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from grader.testing import scale


def backprop(coefs, intercepts, X, y):
    """Exact gradients of ``loss`` (the host's reference backprop)."""
    acts = [X]
    for i, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        z = acts[-1] @ W + b
        acts.append(np.maximum(z, 0.0) if i < len(coefs) - 1 else z)
    delta = 2.0 * (acts[-1] - y.reshape(-1, 1)) / len(y)
    grad_coefs, grad_intercepts = [], []
    for i in range(len(coefs) - 1, -1, -1):
        grad_coefs.insert(0, acts[i].T @ delta)
        grad_intercepts.insert(0, delta.sum(axis=0))
        delta = (delta @ coefs[i].T) * (acts[i] > 0)
    return grad_coefs, grad_intercepts


def trained(nb, X, y, **params):
    model = nb.new("MLPRegressor", **params)
    model.train(X, y)
    return model


@pytest.fixture
def gradient_errors(nb, gradcheck, fetch, numeric_gradients, relative_error):
    """Relative errors of the student's gradients, layer by layer (coefs, then intercepts), and
    whether loss_gradients left the weights unchanged."""
    X, y = gradcheck
    model = trained(nb, X, y, hidden_layer_sizes=(7, 3), learning_rate=0.01, max_iter=2)
    coefs, intercepts = fetch(model)
    X2, y2 = X[::2], y[::2] + 0.5  # other inputs than the training set
    got_coefs, got_intercepts = model.loss_gradients(X2, y2)
    want_coefs, want_intercepts = numeric_gradients(coefs, intercepts, X2, y2)
    assert len(got_coefs) == 3 and len(got_intercepts) == 3, "one gradient per layer"
    errors = [relative_error(g, w) for g, w in zip(got_coefs, want_coefs, strict=True)]
    errors += [relative_error(g, w) for g, w in zip(got_intercepts, want_intercepts, strict=True)]
    after = fetch(model)
    unchanged = all(
        np.array_equal(a, b) for a, b in zip(coefs + intercepts, after[0] + after[1], strict=True)
    )
    return errors, unchanged


@pytest.mark.points(
    0.15,
    component="mlp",
    hint="Градиенты выходного слоя (coefs_[-1], intercepts_[-1]) не совпадают с конечными "
    "разностями: проверьте dL/dŷ = 2(ŷ − y)/n и формы.",
)
def test_output_layer_gradient(gradient_errors):
    errors, _ = gradient_errors
    assert max(errors[2], errors[5]) < 1e-4, f"relative errors {errors[2]:.2e}, {errors[5]:.2e}"


@pytest.mark.points(
    0.35,
    component="mlp",
    hint="Градиенты скрытых слоёв сети с hidden_layer_sizes=(7, 3) не совпадают с конечными "
    "разностями (отн. ошибка ≥ 1e-4) или loss_gradients меняет веса: проверьте производную "
    "ReLU (маска z > 0) и проход назад через все слои.",
)
def test_all_layer_gradients(gradient_errors):
    errors, unchanged = gradient_errors
    assert max(errors) < 1e-4, f"relative errors per layer: {np.round(errors, 6)}"
    assert unchanged, "loss_gradients changed the weights"


@pytest.mark.points(
    0.1,
    component="mlp",
    hint="coefs_ должен иметь формы [(d, h1), (h1, h2), …, (h_last, 1)], intercepts_ — "
    "[(h1,), …, (1,)] для любого hidden_layer_sizes; predict(X) возвращает форму (n,).",
)
def test_shapes_follow_hidden_layer_sizes(nb, gradcheck, fetch):
    X, y = gradcheck
    for sizes, d, n in [((7, 3), 6, 13), ((4,), 2, 5)]:
        model = trained(nb, X[:n, :d], y[:n], hidden_layer_sizes=sizes, max_iter=1)
        coefs, intercepts = fetch(model)
        dims = [d, *sizes, 1]
        assert [W.shape for W in coefs] == list(pairwise(dims)), f"coefs_ for {sizes}"
        assert [b.shape for b in intercepts] == [(h,) for h in dims[1:]], f"intercepts_ for {sizes}"
        assert np.asarray(model.predict(X[:n, :d])).shape == (n,), "predict shape"


@pytest.mark.points(
    0.3,
    component="mlp",
    hint="Один шаг обучения: W ← W − learning_rate·∇L по всей выборке, для всех слоёв; "
    "инициализация должна зависеть только от random_state (одинаковый random_state — "
    "одинаковые веса); loss_history_[k] — MSE перед k-м шагом.",
)
def test_one_step_is_gradient_descent(nb, gradcheck, fetch, loss, credit):
    X, y = gradcheck
    params = dict(hidden_layer_sizes=(6, 4), learning_rate=0.05, random_state=7)
    before = fetch(trained(nb, X, y, max_iter=3, **params))
    model = trained(nb, X, y, max_iter=4, **params)
    after = fetch(model)
    grads = backprop(*before, X, y)
    assert [W.shape for W in after[0]] == [W.shape for W in before[0]], "layer shapes differ"
    for W, g, W_next in zip(
        before[0] + before[1], grads[0] + grads[1], after[0] + after[1], strict=True
    ):
        np.testing.assert_allclose(W_next, W - 0.05 * g, rtol=1e-6, atol=1e-10)
    history = np.asarray(model.get("loss_history_"), dtype=np.float64).reshape(-1)
    assert history.shape == (4,), f"len(loss_history_) = {history.size}, expected 4"
    if history[3] != pytest.approx(loss(*before, X, y), rel=1e-6):
        credit(0.75, "шаг верен, но loss_history_[k] не равен MSE перед k-м шагом")


@pytest.mark.points(
    0.1,
    component="mlp",
    hint="learning_rate, max_iter и random_state из конструктора должны влиять на обучение.",
)
def test_hyperparameters_are_used(nb, gradcheck, fetch):
    X, y = gradcheck

    def first_layer(**params):
        model = trained(nb, X, y, hidden_layer_sizes=(5,), **params)
        assert len(model.get("loss_history_")) == params["max_iter"], "len(loss_history_)"
        return fetch(model)[0][0]

    base = dict(learning_rate=0.01, max_iter=5, random_state=0)
    reference = first_layer(**base)
    np.testing.assert_array_equal(first_layer(**base), reference, err_msg="not deterministic")
    for change in ({"max_iter": 1}, {"learning_rate": 0.05}, {"random_state": 1}):
        other = first_layer(**{**base, **change})
        assert not np.allclose(other, reference), f"{change} gives the same weights: ignored?"


@pytest.mark.points(
    0.35,
    component="mlp",
    hint="Сеть hidden_layer_sizes=(10, 10), learning_rate=0.05, max_iter=1500 должна выучить "
    "нелинейную зависимость (скрытая задача, 4 признака): полный балл при R² ≥ 0.9 на "
    "скрытой тестовой выборке, ноль при R² ≤ 0.7. Если часть 2 проходит проверку градиентов, "
    "а R² низкий, проверьте шаг обучения и инициализацию.",
)
def test_learns_nonlinear_task(nb, hidden_data, r2, credit):
    with np.load(hidden_data / "nonlinear_train.npz", allow_pickle=False) as f:
        X, y = f["X"], f["y"]
    X_test = np.load(hidden_data / "nonlinear_test_X.npy", allow_pickle=False)
    y_test = np.load(hidden_data / "nonlinear_test_y.npy", allow_pickle=False)
    model = trained(nb, X, y, hidden_layer_sizes=(10, 10), learning_rate=0.05, max_iter=1500)
    score = r2(model.predict(X_test), y_test)
    fraction = scale(score, zero=0.7, full=0.9)
    assert fraction > 0, f"test R² = {score:.3f}"
    credit(fraction, f"R² = {score:.3f}")


@pytest.mark.points(
    0.15,
    component="mlp",
    hint="Сеть hidden_layer_sizes=(16,), learning_rate=0.05, max_iter=300, обученная на "
    "data/diabetes_train.npz со стандартизованным y, должна дать R² ≥ 0.5 на скрытой выборке.",
)
def test_diabetes_test_r2(nb, diabetes, diabetes_test, r2, credit):
    (X, y), (X_test, y_test) = diabetes, diabetes_test
    mean, std = y.mean(), y.std()
    model = trained(
        nb, X, (y - mean) / std, hidden_layer_sizes=(16,), learning_rate=0.05, max_iter=300
    )
    score = r2(np.asarray(model.predict(X_test), dtype=np.float64).reshape(-1) * std + mean, y_test)
    fraction = scale(score, zero=0.3, full=0.5)
    assert fraction > 0, f"test R² = {score:.3f}"
    credit(fraction, f"R² = {score:.3f}")
