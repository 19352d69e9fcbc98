"""Check that this Python's packages are exactly a lock's: ``python scripts/locked.py LOCK``.

Run by ``scripts/install`` after installing with the lock as constraints. A package installed
but not in the lock (a new dependency nobody locked) or at another version fails the install:
run ``scripts/lock`` and commit the result. Standard library only.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

IGNORED = {"pip", "dl-grader"}
"""The installer itself, and the project (installed editable, not locked)."""


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: Path) -> dict[str, str]:
    found = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9][\w.-]*)==([^\s;#]+)", line)
        if match:
            found[normalize(match[1])] = match[2]
    return found


def installed() -> dict[str, str]:
    return {normalize(d.metadata["Name"]): d.version for d in metadata.distributions()}


def differences(locked: dict[str, str], present: dict[str, str]) -> list[str]:
    out = []
    for name, version in sorted(present.items()):
        if name in IGNORED:
            continue
        if name not in locked:
            out.append(f"{name} {version} is installed but not in the lock")
        elif locked[name] != version:
            out.append(f"{name} {version} is installed, the lock says {locked[name]}")
    return out


def main(lock: Path) -> int:
    """Differences are errors in a virtual environment (CI's are new), warnings elsewhere."""
    problems = differences(pins(lock), installed())
    strict = sys.prefix != sys.base_prefix
    for problem in problems:
        print(f"{'error' if strict else 'warning'}: {problem}", file=sys.stderr)
    if problems:
        print(f"hint: run scripts/lock, then commit {lock}", file=sys.stderr)
    return 1 if problems and strict else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
