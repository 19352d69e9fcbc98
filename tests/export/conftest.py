"""Fixtures: the hand-built batch output folder (see tests/class_by_hand.py)."""

from class_by_hand import HOSTILE, batch_out

__all__ = ["HOSTILE", "batch_out"]
