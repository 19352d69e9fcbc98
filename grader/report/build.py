"""Every report of a batch, rebuilt from the stored results alone (``grade report OUT``).

One pass over the results, one student at a time: per-student files are written as they come,
only gradebook rows and counters are kept.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from grader import __version__
from grader.batch.store import BatchInfo, Store, write_report
from grader.errors import GraderError
from grader.report.csv import write_csv
from grader.report.feedback import write_feedback
from grader.report.gradebook import Row, row_of
from grader.report.gradescope import write_gradescope
from grader.report.histogram import write_histogram
from grader.report.json import write_json
from grader.report.junit import JUnit, write_junit
from grader.report.summary import ClassStats, summary_markdown
from grader.review.apply import with_reviews

GRADEBOOK_CSV = "gradebook.csv"
GRADEBOOK_JSON = "gradebook.json"
JUNIT_XML = "junit.xml"
HISTOGRAM_PNG = "histogram.png"
SUMMARY_MD = "summary.md"


@dataclass
class Reports:
    info: BatchInfo
    stats: ClassStats
    rows: list[Row]
    files: list[Path] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    """Students whose result.json exists but is corrupt (regraded by the next batch)."""
    warnings: list[str] = field(default_factory=list)


def build_reports(out: Path, *, histogram: bool = True) -> Reports:
    store = Store(out)
    info = store.require_info()
    stats, junit, rows = ClassStats(max_points=info.max_points), JUnit(info), []
    warnings: list[str] = []
    for found in store.results():
        stored = with_reviews(found, info, warnings)
        write_feedback(stored, info)
        write_gradescope(stored, info)
        rows.append(row_of(stored, info))
        junit.add(stored)
        stats.add(stored)
    reports = Reports(
        info=info, stats=stats, rows=rows, unreadable=store.invalid(), warnings=warnings
    )
    write_csv(rows, info, out / GRADEBOOK_CSV)
    write_json(rows, info, out / GRADEBOOK_JSON)
    write_junit(junit, out / JUNIT_XML)
    write_report(out / SUMMARY_MD, summary_markdown(stats, title=info.title))
    reports.files = [out / n for n in (GRADEBOOK_CSV, GRADEBOOK_JSON, JUNIT_XML, SUMMARY_MD)]
    if histogram:
        try:
            _histogram(store, stats, info)
            reports.files.append(out / HISTOGRAM_PNG)
        except GraderError as exc:  # matplotlib missing: every other report is still there
            reports.warnings.append(str(exc))
    return reports


def _histogram(store: Store, stats: ClassStats, info: BatchInfo) -> None:
    """Draw only when the scores changed (matplotlib costs a second to start)."""
    key = hashlib.sha256(
        json.dumps([__version__, info.title, stats.max_points, sorted(stats.totals)]).encode()
    ).hexdigest()
    marker, path = store.state() / "histogram.key", store.out / HISTOGRAM_PNG
    if path.is_file() and marker.is_file() and marker.read_text(encoding="utf-8") == key:
        return
    write_histogram(stats, path, title=info.title)
    write_report(marker, key)
