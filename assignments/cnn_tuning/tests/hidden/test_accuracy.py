"""Hidden test: accuracy of predict() on the hidden test split (component "accuracy", 4 points).

The hidden images are MNIST test digits slightly distorted with a secret seed (data/DATA.md),
so that no lookup table of the public MNIST images can answer them.

The 2,000 hidden images go into the sandbox through ``nb.call("predict", ...)`` in chunks; the
labels never leave the host, where accuracy and the confusion matrix are computed. The matrix
(counts only, no images) is saved as ``confusion.png`` for the feedback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.testing import scale

ZERO, FULL = 0.90, 0.98
"""Accuracy at or below ZERO: no points; at or above FULL: all points; linear in between."""


@pytest.mark.points(
    4,
    component="accuracy",
    hint=f"Точность predict на скрытой тестовой выборке (2000 цифр MNIST): ≤ {ZERO} — 0 баллов, "
    f"≥ {FULL} — полный балл, линейно между. Матрица ошибок — в confusion.png.",
)
def test_hidden_accuracy(
    predict_labels: Callable[[np.ndarray], np.ndarray],
    hidden_data: Path,
    save_confusion: Callable[[np.ndarray, np.ndarray], Any],
    credit: Callable[[float, str], None],
) -> None:
    images = np.load(hidden_data / "test_images.npy", allow_pickle=False)
    labels = np.load(hidden_data / "test_labels.npy", allow_pickle=False)
    pred = predict_labels(images)
    save_confusion(labels, pred)
    accuracy = float(np.mean(pred == labels))
    fraction = scale(accuracy, zero=ZERO, full=FULL)
    assert fraction > 0, f"hidden accuracy {accuracy:.4f} ≤ {ZERO}"
    credit(fraction, f"hidden accuracy {accuracy:.4f}")
