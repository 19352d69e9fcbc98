"""Public tests: the notebook leaves ``model``, ``predict``, ``history`` and ``config`` as the
README specifies (component "contract", 1 point). Draws the training curves for the feedback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

CURVES = ("train_loss", "val_loss", "train_acc", "val_acc")
"""Keys ``history`` must have: one number per epoch each (accuracies as fractions 0..1)."""
CONFIG_KEYS = {"epochs": int, "batch_size": int, "lr": float}
"""Hyperparameters ``config`` must state explicitly (others are welcome)."""


@pytest.mark.points(
    0.25,
    component="contract",
    hint="`model` должен быть обученной torch.nn.Module с параметрами (итоговая модель).",
)
def test_model_is_a_module(layers: dict[str, int]) -> None:
    assert sum(layers.values()) > 0


@pytest.mark.points(
    0.25,
    component="contract",
    hint="predict(images): images — uint8-массив (N, 28, 28) как в data/; вернуть метки "
    "классов 0..9 формы (N,) (numpy или torch), не логиты.",
)
def test_predict_returns_labels(
    predict_labels: Callable[[np.ndarray], np.ndarray], val_split: tuple[np.ndarray, np.ndarray]
) -> None:
    images, _ = val_split
    pred = predict_labels(images[:64])
    assert pred.shape == (64,)
    again = predict_labels(images[:64])
    assert np.array_equal(pred, again), "predict is not deterministic: call model.eval()"


@pytest.mark.points(
    0.25,
    component="contract",
    hint="history — словарь списков по эпохам: train_loss, val_loss, train_acc, val_acc "
    "(одинаковой длины ≥ 1, точность — доля от 0 до 1).",
)
def test_history_has_curves(nb: Any, save_curves: Callable[[dict[str, np.ndarray]], Any]) -> None:
    curves = _curves(nb.get("history"))
    save_curves(curves)
    for key in ("train_acc", "val_acc"):
        assert np.all((curves[key] >= 0) & (curves[key] <= 1)), (
            f"history['{key}'] must be fractions 0..1, got {curves[key][:5]}"
        )


@pytest.mark.points(
    0.25,
    component="contract",
    hint="config — словарь гиперпараметров, заданных явно: как минимум epochs (int), "
    "batch_size (int), lr (float); len(history['train_loss']) ≤ config['epochs'].",
)
def test_config_states_hyperparameters(nb: Any) -> None:
    config = nb.get("config")
    assert isinstance(config, dict), f"config must be a dict, got {type(config).__name__}"
    missing = [k for k in CONFIG_KEYS if k not in config]
    assert not missing, f"config lacks {missing} (it has {sorted(map(str, config))[:20]})"
    for key, kind in CONFIG_KEYS.items():
        value = config[key]
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        assert ok and value > 0, f"config['{key}'] must be a positive number, got {value!r}"
        if kind is int:
            assert float(value).is_integer(), f"config['{key}'] must be a whole number"
    epochs = len(_curves(nb.get("history"))["train_loss"])
    assert epochs <= config["epochs"], (
        f"history has {epochs} epochs but config['epochs'] = {config['epochs']}"
    )


def _curves(history: Any) -> dict[str, np.ndarray]:
    assert isinstance(history, dict), f"history must be a dict, got {type(history).__name__}"
    missing = [k for k in CURVES if k not in history]
    assert not missing, f"history lacks {missing} (it has {sorted(map(str, history))[:20]})"
    curves = {}
    for key in CURVES:
        try:
            curves[key] = np.asarray(history[key], dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            pytest.fail(f"history['{key}'] must be a list of numbers")
    lengths = {k: len(v) for k, v in curves.items()}
    assert len(set(lengths.values())) == 1 and 0 not in lengths.values(), (
        f"history curves must have the same length ≥ 1, got {lengths}"
    )
    assert all(np.all(np.isfinite(v)) for v in curves.values()), "history holds NaN or inf"
    return curves
