"""Public tests, part 2: MLPRegressor (0.5 of the 2 points of component "mlp").

Only the course's API is used: the constructor (hidden_layer_sizes, learning_rate, max_iter),
train and predict. The weights are found by their shapes, and one training step is compared
with finite differences of the MSE of the student's own predict (see ../conftest.py): any
activation, initialisation, layout of the weights, MSE or ½·MSE pass.
"""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def standardized(diabetes):
    """The training set with y standardized: the network learns it more easily."""
    X, y = diabetes
    return X, (y - y.mean()) / y.std()


@pytest.mark.points(
    0.1, component="mlp", hint="train(X, y) должен обучать сеть, predict(X) — вернуть (n,)."
)
def test_train_and_predict(nb, standardized, trained, predictions):
    X, y = standardized[0][:60], standardized[1][:60]
    model = trained(
        nb, "MLPRegressor", X, y, hidden_layer_sizes=(8,), learning_rate=0.01, max_iter=3
    )
    pred = predictions(model, X)
    assert np.all(np.isfinite(pred)), "predict(X) после 3 шагов с learning_rate=0.01 дал nan/inf"


@pytest.mark.points(
    0.3,
    component="mlp",
    hint="Один шаг обучения должен быть W ← W − learning_rate·∂L/∂W для всех весов сети, "
    "L — MSE (или ½·MSE) вашего же predict; сравнение с конечными разностями не сошлось.",
)
def test_one_step_matches_finite_differences(
    nb, standardized, uses_backprop, mlp_step, explain_step, scale_name, budget, hint, behaviour
):
    X, y = standardized[0][:30], standardized[1][:30]
    sizes, lr = (8,), 0.03
    result = mlp_step(nb, "MLPRegressor", X, y, sizes=sizes, lr=lr, budget=budget)
    if result.problem:
        behaviour(result.problem, X, y, sizes, lr)
        return
    hint(explain_step(result, X.shape[1], sizes, len(y)))
    assert not result.bad and scale_name(result.c), (
        f"c = {result.c:.4g}, disagreeing arrays: {result.bad}"
    )


@pytest.mark.points(
    0.1,
    component="mlp",
    hint="За 100 шагов (hidden_layer_sizes=(16,)) ошибка на обучении должна заметно упасть "
    "хотя бы при одном из learning_rate = 0.05, 0.2.",
)
def test_training_reduces_loss(nb, standardized, uses_backprop, trained, predictions, mse):
    X, y = standardized
    drops = []
    for lr in (0.05, 0.2):
        params = dict(hidden_layer_sizes=(16,), learning_rate=lr)
        start = mse(predictions(trained(nb, "MLPRegressor", X, y, max_iter=1, **params), X), y)
        end = mse(predictions(trained(nb, "MLPRegressor", X, y, max_iter=100, **params), X), y)
        drops.append((start, end))
        if end < 0.7 * start:
            return
    pytest.fail(f"MSE на обучении после 1 и 100 шагов: {drops} — почти не падает")
