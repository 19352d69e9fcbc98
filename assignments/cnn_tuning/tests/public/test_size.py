"""Public test: the parameter budget (component "size", 2 points).

The count is that of ``model``'s state dict, BatchNorm buffers left out
(``grader.testing.parameters_by_layer``: the same number as
``sum(p.numel() for p in model.parameters())``), plus every other tensor predict() reads as a
weight or constant (a second network, non-persistent buffers, arrays made tensors inside
predict; see ``conftest.py``). Size points need a model that works (validation accuracy) and
that predict() uses (its labels change when ``model``'s weights are shuffled).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from grader.testing import scale

BUDGET = 50_000
"""At or under this many parameters: full points."""
ZERO_AT = 4 * BUDGET
"""At or over this many: no points; linear in between."""
MIN_VAL_ACCURACY = 0.90
"""Size points only for a model that works: accuracy on data/ val at least this."""
MIN_DEPENDENCE = 0.5
"""Size points only if shuffling ``model``'s weights changes at least this share of labels."""


def budget_fraction(n_params: int) -> float:
    """1 at ≤ BUDGET parameters, 0 at ≥ ZERO_AT, linear in between."""
    return scale(n_params, zero=ZERO_AT, full=BUDGET)


@pytest.mark.points(
    2,
    component="size",
    hint=f"Бюджет параметров: ≤ {BUDGET:,} — полный балл, ≥ {ZERO_AT:,} — 0, линейно между; "
    f"баллы за размер только если точность predict на валидации data/ ≥ {MIN_VAL_ACCURACY} "
    "и predict пользуется model. Считаются параметры model и все тензоры, которые читает "
    "predict (другие сети, буферы, массивы).",
)
def test_parameter_budget(
    layers: dict[str, int],
    val_accuracy: float,
    model_dependence: float,
    outside_model: Any,
    credit: Callable[[float, str], None],
) -> None:
    in_model = sum(layers.values())
    assert val_accuracy >= MIN_VAL_ACCURACY, (
        f"validation accuracy {val_accuracy:.4f} < {MIN_VAL_ACCURACY}: no size points "
        f"for a model that does not work yet ({in_model} parameters)"
    )
    assert model_dependence >= MIN_DEPENDENCE, (
        f"predict does not use `model`: with model's weights shuffled only "
        f"{model_dependence:.0%} of its labels change (at least {MIN_DEPENDENCE:.0%} must); "
        "model must be the network predict runs"
    )
    n_params = in_model + outside_model.numel
    fraction = budget_fraction(n_params)
    counted = f"{n_params:,} parameters"
    if outside_model.numel:
        counted += f" (model {in_model:,} + read by predict: {outside_model.describe()})"
    assert fraction > 0, f"{counted}: over {ZERO_AT:,}, no size points"
    credit(fraction, f"{counted} (full points at ≤ {BUDGET:,}, 0 at {ZERO_AT:,})")
