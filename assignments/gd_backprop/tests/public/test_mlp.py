"""Public tests, part 2: MLPRegressor (0.5 of the 2 points of component "mlp").

The reference forward pass (``forward`` from ../conftest.py) is the one in README.md: ReLU hidden
layers, a linear output, L = mean((y_hat - y)**2). Gradients are checked against central finite
differences of it.
"""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def standardized(diabetes):
    """The training set with y standardized: the network learns it more easily."""
    X, y = diabetes
    return X, (y - y.mean()) / y.std()


@pytest.mark.points(0.1, component="mlp", hint="Проверьте формы coefs_, intercepts_ и predict(X).")
def test_default_shapes(nb, standardized, fetch, forward):
    X, y = standardized[0][:60], standardized[1][:60]
    model = nb.new("MLPRegressor", max_iter=3)
    model.train(X, y)
    coefs, intercepts = fetch(model)
    assert [W.shape for W in coefs] == [(X.shape[1], 100), (100, 1)], (
        "при hidden_layer_sizes=(100,) coefs_ должен быть списком массивов форм "
        f"[(d, 100), (100, 1)], получено {[W.shape for W in coefs]}"
    )
    assert [b.shape for b in intercepts] == [(100,), (1,)], (
        f"intercepts_ должен быть списком массивов форм [(100,), (1,)], "
        f"получено {[b.shape for b in intercepts]}"
    )
    pred = np.asarray(model.predict(X))
    assert pred.shape == (60,), f"predict(X): нужна форма (n,) = (60,), получена {pred.shape}"
    history = list(model.get("loss_history_"))
    assert len(history) == 3, f"в loss_history_ нужно max_iter = 3 значения, а их {len(history)}"
    np.testing.assert_allclose(
        pred,
        forward(coefs, intercepts, X),
        rtol=1e-6,
        atol=1e-9,
        err_msg="predict(X) не совпадает с прямым проходом ReLU-сети по coefs_/intercepts_",
    )


@pytest.mark.points(
    0.25, component="mlp", hint="Сравните loss_gradients с конечными разностями (см. README)."
)
def test_gradients_match_finite_differences(
    nb, standardized, fetch, numeric_gradients, relative_error
):
    X, y = standardized[0][:20], standardized[1][:20]
    model = nb.new("MLPRegressor", hidden_layer_sizes=(5,), learning_rate=0.01, max_iter=2)
    model.train(X, y)
    coefs, intercepts = fetch(model)
    result = model.loss_gradients(X, y)
    assert isinstance(result, (tuple, list)) and len(result) == 2, (
        "loss_gradients(X, y) должен вернуть пару списков (grad_coefs, grad_intercepts)"
    )
    grad_coefs, grad_intercepts = result
    num_coefs, num_intercepts = numeric_gradients(coefs, intercepts, X, y)
    for kind, got_list, want_list in [
        ("grad_coefs", grad_coefs, num_coefs),
        ("grad_intercepts", grad_intercepts, num_intercepts),
    ]:
        assert len(got_list) == len(want_list), f"в {kind} должно быть {len(want_list)} массива"
        for i, (got, want) in enumerate(zip(got_list, want_list, strict=True)):
            got = np.asarray(got, dtype=np.float64)
            assert got.shape == want.shape, f"{kind}[{i}]: форма {got.shape}, нужна {want.shape}"
            err = relative_error(got, want)
            assert err < 1e-4, (
                f"{kind}[{i}] не совпадает с конечными разностями: относительная ошибка {err:.2e} "
                "(нужно < 1e-4). Проверьте множитель 2/n, производную ReLU и порядок слоёв."
            )
    after = fetch(model)
    for W, W_after in zip(coefs, after[0], strict=True):
        np.testing.assert_array_equal(W_after, W, err_msg="loss_gradients не должен менять веса")


@pytest.mark.points(0.15, component="mlp", hint="loss_history_[k] — MSE перед k-м шагом.")
def test_training_reduces_loss(nb, standardized):
    X, y = standardized
    model = nb.new("MLPRegressor", hidden_layer_sizes=(16,), learning_rate=0.05, max_iter=100)
    model.train(X, y)
    history = np.asarray(model.get("loss_history_"), dtype=np.float64)
    assert history.shape == (100,), f"нужно 100 значений loss_history_, а не {history.shape}"
    assert np.all(np.isfinite(history)), "в loss_history_ есть nan/inf: обучение разошлось"
    assert history[-1] < 0.7 * history[0], (
        f"за 100 шагов с learning_rate=0.05 ошибка почти не уменьшилась: "
        f"{history[0]:.3f} → {history[-1]:.3f}"
    )
