"""Who owns which folder of a class repository: a CSV file ``login,folder,role``.

::

    login,folder,role
    ivan-petrov,ivanov,
    ivan-petrov-gitlab,ivanov,
    prof-smirnova,,staff

One row per login (a student with accounts on two services has two rows); ``role`` is empty or
``student``, or ``staff`` for people who may push anywhere. Logins compare case-insensitively,
as both services treat them; folder names compare exactly.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from grader.errors import GraderError

COLUMNS = ("login", "folder")
ROLES = ("", "student", "staff")


@dataclass(frozen=True)
class Roster:
    folders: dict[str, frozenset[str]] = field(default_factory=dict)
    """Casefolded login → the folders that login owns."""
    staff: frozenset[str] = frozenset()
    source: str = ""
    """Where it was read from (the file and commit), for the summary."""

    def is_staff(self, login: str) -> bool:
        return login.casefold() in self.staff

    def is_student(self, login: str) -> bool:
        return login.casefold() in self.folders

    def folders_of(self, login: str) -> frozenset[str]:
        return self.folders.get(login.casefold(), frozenset())


def parse_roster(text: str, *, source: str) -> Roster:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise GraderError(
            f"{source}: the roster has no column {', '.join(missing)}",
            hint="its header must be: login,folder,role",
        )
    folders: dict[str, set[str]] = {}
    staff: set[str] = set()
    for line, row in enumerate(reader, start=2):
        login, folder = (row.get("login") or "").strip(), (row.get("folder") or "").strip()
        role = (row.get("role") or "").strip().lower()
        if not login or role not in ROLES or (role != "staff" and not folder):
            raise GraderError(
                f"{source}, line {line}: needs a login and a folder (or role 'staff')",
                hint="rows look like: ivan-petrov,ivanov,  or  prof-smirnova,,staff",
            )
        if role == "staff":
            staff.add(login.casefold())
        else:
            folders.setdefault(login.casefold(), set()).add(folder)
    return Roster({k: frozenset(v) for k, v in folders.items()}, frozenset(staff), source)
