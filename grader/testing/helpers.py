"""Helpers for assignment tests."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from grader.core.scale import scale

__all__ = ["BUFFER_SUFFIXES", "parameter_count", "parameters_by_layer", "scale"]


BUFFER_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")
"""State-dict entries that are BatchNorm buffers, not parameters."""


def parameters_by_layer(state: Mapping[str, Any]) -> dict[str, int]:
    """Parameter count per layer from a torch state dict fetched as arrays (``nb.state_dict``).

    A layer is the name before the last dot (``conv1.weight`` → ``conv1``). BatchNorm buffers
    (:data:`BUFFER_SUFFIXES`) are left out, so the total equals
    ``sum(p.numel() for p in model.parameters())`` for models whose only buffers are BatchNorm's
    (tied weights are listed twice in a state dict and counted twice here).
    """
    counts: dict[str, int] = {}
    for name, value in state.items():
        if name.rsplit(".", 1)[-1] in BUFFER_SUFFIXES:
            continue
        layer = name.rsplit(".", 1)[0] if "." in name else name
        counts[layer] = counts.get(layer, 0) + int(math.prod(getattr(value, "shape", ())))
    return counts


def parameter_count(state: Mapping[str, Any]) -> int:
    """Total parameters in a state dict, BatchNorm buffers left out (see parameters_by_layer)."""
    return sum(parameters_by_layer(state).values())
