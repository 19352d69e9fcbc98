"""``grade export OUT --to csv|moodle|gradescope``: one entry point over the formats."""

from __future__ import annotations

import shutil
from enum import StrEnum
from pathlib import Path

from grader.export.base import Export, copy_feedback, open_batch
from grader.export.gradescope import write_gradescope
from grader.export.moodle import write_moodle
from grader.report.build import GRADEBOOK_CSV


class Target(StrEnum):
    CSV = "csv"
    MOODLE = "moodle"
    GRADESCOPE = "gradescope"


def export_grades(out: Path, *, to: Target, dest: Path, roster: Path | None = None) -> Export:
    """Rebuild the reports of ``out`` (reviews applied) and write ``to``'s files into ``dest``."""
    batch = open_batch(out, roster=roster)
    dest.mkdir(parents=True, exist_ok=True)
    if to is Target.CSV:
        files = [dest / GRADEBOOK_CSV]
        shutil.copyfile(out / GRADEBOOK_CSV, files[0])
    elif to is Target.MOODLE:
        files = [write_moodle(batch, dest)]
    else:
        files = write_gradescope(batch, dest)
    files += copy_feedback(batch, dest)
    return Export(dest, files, batch.warnings)
