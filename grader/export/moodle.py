"""Moodle's grade import CSV (Gradebook → Import → CSV file).

One row per student: identifier columns, one grade column and one feedback column. In Moodle
choose the identifier under "Identify user by" (Map from ``Email address`` to ``Email
address``, or ``ID number``/``Username`` likewise; ``Student`` works when the batch's student
names are Moodle usernames), map the grade column to the assignment's grade item and the
feedback column to its feedback: Moodle replaces a grade whose feedback is imported without
it, so both come together (docs.moodle.org, "Grade import"). UTF-8, comma-separated, no BOM;
numbers with a decimal point. The feedback is a short plain summary (points by part, the
reviewer's comments) with HTML special characters escaped, since Moodle shows it as HTML;
nothing in it is the student's own text.
"""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path

from grader.batch.store import BatchInfo, Stored
from grader.export.base import ROSTER_COLUMNS, Batch
from grader.report.csv import _cell as spreadsheet_safe

FILE = "moodle_grades.csv"
_LABEL = {"email": "Email address", "idnumber": "ID number", "username": "Username"}


def write_moodle(batch: Batch, dest: Path) -> Path:
    used = [c for c in ROSTER_COLUMNS if any(c in ids for ids in batch.roster.values())]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["Student", *[_LABEL[c] for c in used], grade_column(batch.info), "Feedback"])
    for stored in batch.results():
        ids = batch.ids(stored.student)
        writer.writerow(
            [
                spreadsheet_safe(stored.student),
                *[spreadsheet_safe(ids.get(c, "")) for c in used],
                f"{stored.result.points:g}",
                spreadsheet_safe(feedback_summary(stored, batch.info)),
            ]
        )
    path = dest / FILE
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def grade_column(info: BatchInfo) -> str:
    return f"{info.title} ({info.max_points:g})"


def feedback_summary(stored: Stored, info: BatchInfo) -> str:
    """A few lines for the LMS: total, parts, late penalty, the reviewer's comments."""
    r = stored.result
    lines = [f"{r.points:g} / {r.max_points or info.max_points:g} ({r.status.value})"]
    lines += [f"{c.title}: {c.points:g} / {c.max_points:g}" for c in r.components]
    if r.late_penalty:
        lines.append(f"late penalty: -{r.late_penalty:g}")
    lines += [f"{a.id}: {a.comment}" for a in r.answers if a.comment]
    if any(a.needs_review for a in r.answers):
        lines.append("written answers: points provisional, review pending")
    text = "\n".join(" ".join(line.split()) for line in lines)
    return html.escape(text, quote=False).replace("\n", "<br>")
