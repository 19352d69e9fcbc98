"""Public tests, part 1: LinearRegressionGD (0.5 of the 2 points of component "gd").

Only the course's API is used: the constructor (learning_rate, max_iter), train and predict. The
weights are read back from the predictions (see ../conftest.py), so any names, shapes, bias
handling and initialisation pass; MSE and ½·MSE both do.
"""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.points(
    0.1, component="gd", hint="train(X, y) должен обучать модель, predict(X) — вернуть (n,)."
)
def test_train_and_predict(nb, diabetes, trained, predictions):
    X, y = diabetes[0][:50], diabetes[1][:50]
    model = trained(nb, "LinearRegressionGD", X, y, learning_rate=0.01, max_iter=5)
    pred = predictions(model, X)
    assert np.all(np.isfinite(pred)), "predict(X) после 5 шагов с learning_rate=0.01 дал nan/inf"


@pytest.mark.points(
    0.25,
    component="gd",
    hint="Один шаг обучения — это θ ← θ − learning_rate·∇L по всей выборке, "
    "L = MSE (или ½·MSE); max_iter шагов — ровно max_iter таких шагов.",
)
def test_one_step_is_gradient_descent(
    nb, diabetes, trained, theta_of, linear_step, scale_name, explain_scale
):
    X, y = diabetes
    lr = 0.03
    before = theta_of(trained(nb, "LinearRegressionGD", X, y, learning_rate=lr, max_iter=1), 10)
    after = theta_of(trained(nb, "LinearRegressionGD", X, y, learning_rate=lr, max_iter=2), 10)
    assert not np.allclose(before, after), (
        "модели с max_iter=1 и max_iter=2 одинаковы: max_iter не влияет на обучение"
    )
    step = linear_step(before, after, X, y, lr)
    assert step.residual < 1e-4, (
        "шаг от max_iter=1 к max_iter=2 не направлен против градиента MSE по всей выборке "
        f"(отклонение {step.residual:.1e}): это не полный градиентный спуск"
    )
    assert scale_name(step.c), explain_scale(step.c, len(y))


@pytest.mark.points(
    0.15,
    component="gd",
    hint="С learning_rate=0.1 за 1000 шагов GD должен сойтись к решению МНК, а после 1 шага — "
    "ещё нет (это градиентный спуск, а не формула МНК).",
)
def test_converges_to_least_squares(nb, diabetes, trained, predictions, mse):
    X, y = diabetes
    A = np.column_stack([X, np.ones(len(X))])
    best = mse(A @ np.linalg.lstsq(A, y, rcond=None)[0], y)
    early = mse(
        predictions(trained(nb, "LinearRegressionGD", X, y, learning_rate=0.1, max_iter=1), X), y
    )
    assert early > 2 * best, (
        f"уже после одного шага MSE = {early:.2f} — как у решения МНК ({best:.2f}): модель "
        "обучается не градиентным спуском"
    )
    model = trained(nb, "LinearRegressionGD", X, y, learning_rate=0.1, max_iter=1000)
    final = mse(predictions(model, X), y)
    assert final <= 1.01 * best, (
        f"после 1000 шагов с learning_rate=0.1 MSE на обучении = {final:.2f}, а у решения МНК "
        f"(np.linalg.lstsq) {best:.2f}: GD не сходится"
    )
