"""Where a batch's jobs run (the CLI's ``--engine``): worker processes on this machine, or the
nodes of a Ray cluster (``cluster.py``). Imported by the CLI without the kernel stack."""

from __future__ import annotations

from enum import StrEnum


class Engine(StrEnum):
    LOCAL = "local"
    """A pool of worker processes on this machine (``pool.py``, ``scheduler.py``)."""
    RAY = "ray"
    """Tasks on a Ray cluster (``cluster.py``, ``node.py``); needs ``--address``."""
