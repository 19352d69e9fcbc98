"""``gradebook.json``: the gradebook for programs (LMS upload scripts, spreadsheets)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from grader.core.store import BatchInfo, write_report
from grader.core.version import version
from grader.report.gradebook import Row

GRADEBOOK_SCHEMA = 1


def gradebook(rows: Iterable[Row], info: BatchInfo) -> dict[str, Any]:
    return {
        "schema_version": GRADEBOOK_SCHEMA,
        "grader": version(),
        "assignment": {
            "id": info.assignment,
            "title": info.title,
            "version": info.version,
            "max_points": info.max_points,
            "deadline": info.late.deadline.isoformat() if info.late.deadline else None,
            "components": [c.model_dump() for c in info.components],
        },
        "students": [{**asdict(row), "review_needed": row.review_needed} for row in rows],
    }


def write_json(rows: Iterable[Row], info: BatchInfo, path: Path) -> None:
    write_report(path, json.dumps(gradebook(rows, info), ensure_ascii=False, indent=2) + "\n")
