"""Public test: the parameter budget (component "size", 2 points).

Parameters are counted on the host from ``model``'s state dict, BatchNorm buffers left out
(``grader.testing.parameters_by_layer``): the same number as
``sum(p.numel() for p in model.parameters())``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from grader.testing import scale

BUDGET = 50_000
"""At or under this many parameters: full points."""
ZERO_AT = 4 * BUDGET
"""At or over this many: no points; linear in between."""
MIN_VAL_ACCURACY = 0.90
"""Size points only for a model that works: accuracy on data/ val at least this."""


def budget_fraction(n_params: int) -> float:
    """1 at ≤ BUDGET parameters, 0 at ≥ ZERO_AT, linear in between."""
    return scale(n_params, zero=ZERO_AT, full=BUDGET)


@pytest.mark.points(
    2,
    component="size",
    hint=f"Бюджет параметров: ≤ {BUDGET:,} — полный балл, ≥ {ZERO_AT:,} — 0, линейно между; "
    f"баллы за размер только если точность predict на валидации data/ ≥ {MIN_VAL_ACCURACY}.",
)
def test_parameter_budget(
    layers: dict[str, int], val_accuracy: float, credit: Callable[[float, str], None]
) -> None:
    n_params = sum(layers.values())
    assert val_accuracy >= MIN_VAL_ACCURACY, (
        f"validation accuracy {val_accuracy:.4f} < {MIN_VAL_ACCURACY}: no size points "
        f"for a model that does not work yet ({n_params} parameters)"
    )
    fraction = budget_fraction(n_params)
    assert fraction > 0, f"{n_params:,} parameters: over {ZERO_AT:,}, no size points"
    credit(fraction, f"{n_params:,} parameters (full points at ≤ {BUDGET:,}, 0 at {ZERO_AT:,})")
