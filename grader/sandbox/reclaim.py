"""Reclaim what killed graders left behind: their stopped containers and host folders.

A grader that dies without cleaning up (``kill -9``, the OOM killer, a lost machine) leaves no
running sandbox for long: each one is tethered to it (:mod:`grader.sandbox.lease`) and stops
within moments. What stays is inert: a stopped container and folders in the temporary folder
(work copies, kernel sockets). Every command that starts sandboxes removes them first
(:func:`grader.sandbox.choose.make_sandbox`), and ``grade sandbox prune`` does it on demand.

Only what provably belongs to a process that is gone is removed
(:meth:`grader.sandbox.owner.Owner.gone`): other graders sharing this machine, and this one's
engine, are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.sandbox import scratch


@dataclass(frozen=True)
class Reclaimed:
    """What was removed: container names and host folders."""

    containers: tuple[str, ...] = ()
    folders: tuple[Path, ...] = ()

    def __add__(self, other: Reclaimed) -> Reclaimed:
        return Reclaimed(self.containers + other.containers, self.folders + other.folders)

    def __bool__(self) -> bool:
        return bool(self.containers or self.folders)


def reclaim(*, docker: Any = None, everything: bool = False, tmp: Path | None = None) -> Reclaimed:
    """Remove the leftovers of graders that are gone: with a Docker client (``docker``), their
    containers and run folders first (with ``everything``, every sandbox container of the
    engine), then this user's scratch folders in ``tmp`` (the temporary folder)."""
    found = Reclaimed()
    if docker is not None:
        from grader.sandbox.docker.housekeeping import prune

        found += prune(client=docker, everything=everything)
    folders = tuple(f for f in scratch.orphans(tmp) if scratch.remove(f))
    return found + Reclaimed(folders=folders)
