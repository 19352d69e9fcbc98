"""The grader's version, read once from the installed package's metadata (pyproject.toml)."""

from __future__ import annotations

from functools import cache
from importlib import metadata

DISTRIBUTION = "dl-grader"


@cache
def version() -> str:
    """``0.1.0``; ``0+unknown`` when the grader runs from a checkout that was never installed."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"
