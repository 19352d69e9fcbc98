"""What an export is for: the LMS (or format) that imports it."""

from __future__ import annotations

from enum import StrEnum


class Target(StrEnum):
    CSV = "csv"
    MOODLE = "moodle"
    GRADESCOPE = "gradescope"
