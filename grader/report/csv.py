"""``gradebook.csv``: one row per student, one column per component; safe to open in a
spreadsheet (text that would start a formula is prefixed with an apostrophe)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from grader.batch.store import BatchInfo, write_report
from grader.report.gradebook import Row
from grader.report.safe import printable

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection) and control codes in text cells."""
    text = printable(text)
    return "'" + text if text.startswith(_FORMULA_START) else text


def header(info: BatchInfo) -> list[str]:
    return [
        "student",
        "status",
        "total",
        "max",
        "late_penalty",
        "late_hours",
        "submitted_at",
        "submitted_from",
        *[f"{c.id} ({c.points:g})" for c in info.components],
        "tests_passed",
        "tests_total",
        "review_needed",
        "message",
    ]


def values(row: Row, info: BatchInfo) -> list[str]:
    return [
        _cell(row.student),
        row.status,
        f"{row.total:g}",
        f"{row.max_points:g}",
        f"{row.late_penalty:g}",
        f"{row.late_hours:g}",
        row.submitted_at,
        row.submitted_from,
        *[f"{row.components.get(c.id, 0.0):g}" for c in info.components],
        str(row.tests_passed),
        str(row.tests_total),
        "yes" if row.review_needed else "no",
        _cell(row.message.replace("\n", " ")[:500]),
    ]


def render_csv(rows: Iterable[Row], info: BatchInfo) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header(info))
    for row in rows:
        writer.writerow(values(row, info))
    return buf.getvalue()


def write_csv(rows: Iterable[Row], info: BatchInfo, path: Path) -> None:
    # UTF-8 with BOM so that Excel shows Cyrillic names correctly
    write_report(path, "\ufeff" + render_csv(rows, info))
