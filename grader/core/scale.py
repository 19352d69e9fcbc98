"""From a measured value to a share of points (standard library only: the benchmarks' kernel
shim loads this file without the grader)."""

from __future__ import annotations

import math


def scale(value: float, *, zero: float, full: float) -> float:
    """Map a metric to a fraction of points: 0 at ``zero``, 1 at ``full``, linear between.

    Works in both directions (``full < zero`` for losses), clipped to [0, 1]; NaN gives 0.
    """
    if zero == full:
        raise ValueError("zero and full thresholds must differ")
    if not math.isfinite(value):
        return 0.0
    fraction = (value - zero) / (full - zero)
    return min(1.0, max(0.0, fraction))
