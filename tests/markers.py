"""Marks for tests that need what not every supported Python gets installed."""

from __future__ import annotations

import importlib.util

import pytest

HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(
    not HAS_TORCH,
    reason="torch is not installed: the lock has it for Python 3.11 only, where its CPU build "
    "exists (README, Install); the Docker tests run torch in the image",
)
