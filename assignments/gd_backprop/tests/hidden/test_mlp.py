"""Hidden tests, part 2: MLPRegressor (1.5 of the 2 points of component "mlp").

Through the API only; the weights are found by their shapes and a training step is compared
with finite differences of the MSE of the student's own predict (../conftest.py). Learning is
judged at the better of two learning rates, so any activation and initialisation can pass.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.testing import scale

NAME = "MLPRegressor"


@pytest.mark.points(
    0.8,
    component="mlp",
    hint="Шаг обучения сети с hidden_layer_sizes=(7, 4) не совпадает с −learning_rate·∇L "
    "(градиент вашей же функции потерь по конечным разностям).",
)
def test_one_step_all_layers(
    nb, gradcheck, uses_backprop, mlp_step, explain_step, scale_name, budget, hint, behaviour
):
    X, y = gradcheck
    sizes, lr = (7, 4), 0.05
    result = mlp_step(nb, NAME, X, y, sizes=sizes, lr=lr, steps=2, budget=budget)
    if result.problem:
        behaviour(result.problem, X, y, sizes, lr)
        return
    hint(explain_step(result, X.shape[1], sizes, len(y)))
    assert not result.bad and scale_name(result.c), (
        f"c = {result.c:.4g}; per array (name, step, fd): "
        + ", ".join(f"({p.name}, {p.step:.4g}, {p.fd:.4g})" for p in result.parts)
    )


@pytest.mark.points(
    0.15,
    component="mlp",
    hint="learning_rate, max_iter и hidden_layer_sizes из конструктора должны влиять на обучение.",
)
def test_hyperparameters_are_used(nb, gradcheck, trained, predictions, find_weights, budget, hint):
    X, y = gradcheck

    def model(**params):
        return trained(nb, NAME, X, y, **{"hidden_layer_sizes": (5,), "max_iter": 1, **params})

    hint("max_iter не влияет на обучение: 1 и 3 шага дают одну и ту же сеть.")
    assert not np.array_equal(predictions(model(), X), predictions(model(max_iter=3), X))
    hint("hidden_layer_sizes не влияет на сеть: (5,) и (6,) дают одно и то же.")
    assert not np.array_equal(
        predictions(model(), X), predictions(model(hidden_layer_sizes=(6,)), X)
    )
    hint("Шаг обучения не пропорционален learning_rate.")
    nets = [model(learning_rate=lr) for lr in (0.01, 0.02, 0.03, 0.01)]  # the last: again
    found = find_weights(nets[0], X, X.shape[1], (5,), budget)
    names = list(found.arrays)
    weights = [[m.arrays(names=names).get(k) for k in names] for m in nets]
    if found.problem or not all(map(np.array_equal, weights[0], weights[3])):
        outs = [predictions(m, X) for m in nets]  # behaviour only: learning_rate shows
        assert not np.array_equal(outs[0], outs[2]), "learning_rate ignored"
        return
    for w1, w2, w3 in zip(*weights[:3], strict=True):
        np.testing.assert_allclose(w3 - w2, w2 - w1, rtol=1e-6, atol=1e-12)
    assert any(not np.array_equal(a, b) for a, b in zip(*weights[:2], strict=True))


@pytest.mark.points(
    0.1,
    component="mlp",
    hint="predict(X) возвращает форму (n,) для любых hidden_layer_sizes и числа признаков.",
)
def test_shapes_follow_hidden_layer_sizes(nb, gradcheck, trained, predictions):
    X, y = gradcheck
    for sizes, d, n in [((7, 3), 6, 13), ((4,), 2, 5), ((3, 5, 2), 1, 7)]:
        model = trained(nb, NAME, X[:n, :d], y[:n], hidden_layer_sizes=sizes, max_iter=1)
        assert np.all(np.isfinite(predictions(model, X[:n, :d]))), f"not finite for {sizes}"


def best_r2(nb, trained, predictions, r2, X, y, X_test, y_test, enough, **params):
    """The best test R² over two learning rates (the better one is enough)."""
    scores = []
    for lr in (0.2, 0.05):
        model = trained(nb, NAME, X, y, learning_rate=lr, **params)
        scores.append(r2(predictions(model, X_test), y_test))
        if scores[-1] >= enough:
            break
    return max(scores)


@pytest.mark.points(
    0.3,
    component="mlp",
    hint="Сеть hidden_layer_sizes=(16,), max_iter=3000 должна выучить нелинейную зависимость "
    "(скрытая задача, 4 признака) хотя бы при одном из learning_rate = 0.2, 0.05: полный балл "
    "при R² ≥ 0.95 на скрытой тестовой выборке, ноль при R² ≤ 0.8.",
)
def test_learns_nonlinear_task(nb, hidden_data, uses_backprop, trained, predictions, r2, credit):
    with np.load(hidden_data / "nonlinear_train.npz", allow_pickle=False) as f:
        X, y = f["X"], f["y"]
    X_test = np.load(hidden_data / "nonlinear_test_X.npy", allow_pickle=False)
    y_test = np.load(hidden_data / "nonlinear_test_y.npy", allow_pickle=False)
    score = best_r2(
        nb,
        trained,
        predictions,
        r2,
        X,
        y,
        X_test,
        y_test,
        0.95,
        hidden_layer_sizes=(16,),
        max_iter=3000,
    )
    fraction = scale(score, zero=0.8, full=0.95)
    assert fraction > 0, f"test R² = {score:.3f}"
    credit(fraction, f"R² = {score:.3f}")


@pytest.mark.points(
    0.15,
    component="mlp",
    hint="Сеть hidden_layer_sizes=(16,), max_iter=300, обученная на data/diabetes_train.npz со "
    "стандартизованным y, должна дать R² ≥ 0.5 на скрытой выборке.",
)
def test_diabetes_test_r2(
    nb, diabetes, diabetes_test, uses_backprop, trained, predictions, r2, credit
):
    (X, y), (X_test, y_test) = diabetes, diabetes_test
    mean, std = y.mean(), y.std()
    score = best_r2(
        nb,
        trained,
        predictions,
        r2,
        X,
        (y - mean) / std,
        X_test,
        (y_test - mean) / std,
        0.5,
        hidden_layer_sizes=(16,),
        max_iter=300,
    )
    fraction = scale(score, zero=0.3, full=0.5)
    assert fraction > 0, f"test R² = {score:.3f}"
    credit(fraction, f"R² = {score:.3f}")
