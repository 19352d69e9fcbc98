"""Hidden tests, part 1: LinearRegressionGD (1.5 of the 2 points of component "gd").

Inputs and training targets may go to the kernel; test labels and expected values stay here.
Through the API only: θ = (w, b) is read back from the predictions, and the trajectory is
compared with this file's own GD on the same data, started from the student's own state.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.testing import scale

NAME = "LinearRegressionGD"


@pytest.fixture(scope="module")
def linear(hidden_data):
    with np.load(hidden_data / "linear_train.npz", allow_pickle=False) as f:
        return f["X"], f["y"]


@pytest.fixture(scope="module")
def theta_after(nb, linear, trained, theta_of):
    """``theta_after(lr, max_iter)``: θ of the model trained on the hidden linear data."""

    def get(lr, max_iter):
        X, y = linear
        return theta_of(trained(nb, NAME, X, y, learning_rate=lr, max_iter=max_iter), X.shape[1])

    return get


@pytest.mark.points(
    0.4,
    component="gd",
    hint="Траектория на скрытых данных не совпадает с полным GD: θ ← θ − learning_rate·∇L "
    "по всей выборке, ровно max_iter шагов, L = MSE (или ½·MSE).",
)
def test_trajectory_is_gradient_descent(
    linear, theta_after, linear_step, scale_name, explain_scale, gd_steps, hint
):
    X, y = linear
    lr = 0.03
    first, second = theta_after(lr, 1), theta_after(lr, 2)
    step = linear_step(first, second, X, y, lr)
    hint("Шаг обучения не равен −learning_rate·∇L по всей выборке (L = MSE или ½·MSE).")
    assert step.residual < 1e-4, f"step off the gradient by {step.residual:.2e}"
    hint(explain_scale(step.c, len(y)))
    assert scale_name(step.c), f"step = {step.c:.4g}·lr·∇MSE"
    hint(
        "Первые шаги верны, но после max_iter=7 модель не там, где её оставил бы полный GD с "
        "тем же шагом: число шагов должно быть ровно max_iter, шаг — постоянным."
    )
    want = gd_steps(first, X, y, lr, round(step.c * 2) / 2, 6)
    got = theta_after(lr, 7)
    moved = np.linalg.norm(want - first)
    assert np.linalg.norm(got - want) < 1e-3 * moved, f"θ after 7 steps {got} != {want}"


@pytest.mark.points(
    0.3,
    component="gd",
    hint="learning_rate и max_iter из конструктора должны задавать шаг и число шагов.",
)
def test_hyperparameters_are_used(linear, theta_after, linear_step, gd_steps, hint):
    X, y = linear
    scales = []
    for lr in (0.005, 0.05):
        step = linear_step(theta_after(lr, 1), theta_after(lr, 2), X, y, lr)
        scales.append(step.c)
    hint(
        "Шаг не пропорционален learning_rate: при learning_rate=0.005 и 0.05 шаги должны "
        "отличаться в 10 раз."
    )
    assert scales[1] == pytest.approx(scales[0], rel=0.02), f"step scales {scales}"
    hint("max_iter не равен числу шагов градиентного спуска.")
    c, lr = scales[0], 0.02
    start, end = theta_after(lr, 1), theta_after(lr, 9)
    errors = [np.linalg.norm(gd_steps(start, X, y, lr, c, m) - end) for m in range(17)]
    made = int(np.argmin(errors))
    assert made == 8 and errors[8] < 1e-3 * np.linalg.norm(end - start), (
        f"from max_iter=1 to max_iter=9 the model made {made} steps (expected 8)"
    )


@pytest.mark.points(
    0.1,
    component="gd",
    hint="predict(X) возвращает массив формы (n,); модель должна работать при любом d, даже d = 1.",
)
def test_shapes_for_other_sizes(nb, gradcheck, trained, predictions):
    X, y = gradcheck
    for d, n in [(1, 9), (6, 30)]:
        model = trained(nb, NAME, X[:n, :d], y[:n], learning_rate=0.01, max_iter=2)
        assert np.all(np.isfinite(predictions(model, X[:n, :d]))), f"predict not finite, d = {d}"


@pytest.mark.points(
    0.5,
    component="gd",
    hint="При learning_rate=0.1 и max_iter=500 на хорошо обусловленных данных GD должен "
    "сойтись к решению МНК с точностью 1e-3, а не получать его формулой.",
)
def test_converges_to_least_squares(linear, theta_after, gd_steps):
    X, y = linear
    solution = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)[0]
    early = theta_after(0.1, 2)
    assert np.linalg.norm(early - solution) > 0.1 * np.linalg.norm(solution), (
        "after 2 steps the model already is the least-squares solution: not gradient descent"
    )
    np.testing.assert_allclose(theta_after(0.1, 500), solution, atol=1e-3)


@pytest.mark.points(
    0.2,
    component="gd",
    hint="Модель, обученная на data/diabetes_train.npz (learning_rate=0.1, max_iter=1000), "
    "должна давать на скрытой тестовой выборке R² почти как у МНК.",
)
def test_diabetes_test_r2(nb, diabetes, diabetes_test, trained, predictions, mse, r2, credit):
    (X, y), (X_test, y_test) = diabetes, diabetes_test
    A = np.column_stack([X, np.ones(len(X))])
    solution = np.linalg.lstsq(A, y, rcond=None)[0]
    early = mse(predictions(trained(nb, NAME, X, y, learning_rate=0.1, max_iter=1), X), y)
    assert early > 2 * mse(A @ solution, y), "after one step already at least squares"
    model = trained(nb, NAME, X, y, learning_rate=0.1, max_iter=1000)
    score = r2(predictions(model, X_test), y_test)
    assert np.isfinite(score), "predictions are not usable"
    best = r2(np.column_stack([X_test, np.ones(len(X_test))]) @ solution, y_test)
    fraction = scale(score, zero=best - 0.2, full=best - 0.01)
    assert fraction > 0, f"test R² = {score:.3f}, least squares reach {best:.3f}"
    credit(fraction, f"R² на скрытой выборке {score:.3f}")
