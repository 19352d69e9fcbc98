"""The job's output folder (an artifact): laid out as ``grade batch`` lays out its own.

::

    grade-ci/
      ci.json                 the run: event, changes, trust decision, violations, students
      step-summary.md         the whole summary (the job page may show it cut to 1 MiB)
      junit.xml               GitLab's artifacts:reports:junit (grader.report.junit)
      gradebook.json, .csv    grader.report (one row per student graded in this job)
      <student>/result.json   the GradeResult, with feedback.md, feedback.html

So ``grade report grade-ci`` rebuilds the reports from a downloaded artifact. This module is
the one place ``grade ci`` touches the batch store and the report builder.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from grader.batch.intake import student_id
from grader.ci.outcome import CIRun
from grader.core.results import GradeResult
from grader.core.spec import Assignment
from grader.core.store import ARTIFACTS, BatchInfo, Record, Store, write_atomic
from grader.core.version import version
from grader.report.build import JUNIT_XML, build_reports

RUN_JSON = "ci.json"
SUMMARY_MD = "step-summary.md"
SCHEMA_VERSION = 1


def folder_names(students: Iterable[str]) -> dict[str, str]:
    """A safe, distinct output folder for each student name (names are repository text)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for student in students:
        base = name = student_id(student)
        n = 2
        while name.casefold() in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name.casefold())
        names[student] = name
    return names


def artifacts_dir(out: Path, folder: str) -> Path:
    return out / folder / ARTIFACTS


def save_result(
    out: Path, folder: str, result: GradeResult, *, source: str, submitted_at: datetime | None
) -> None:
    record = Record(
        student=folder,
        key=f"ci:{result.notebook_sha256}",
        source=source,
        submitted_at=submitted_at,
        time_from="push" if submitted_at else "",
        graded_at=datetime.now().astimezone(),
        seconds=result.timings.total_s,
        backend="",
    )
    Store(out).save(folder, result.for_students(), record)  # an artifact students may read


def write_reports(out: Path, spec: Assignment) -> Path:
    """Gradebook, feedback and JUnit for the results in ``out``; the JUnit file's path."""
    Store(out).save_info(BatchInfo.of(spec))
    build_reports(out, histogram=False)
    return out / JUNIT_XML


def write_run(out: Path, run: CIRun, summary: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / SUMMARY_MD, summary, durable=False)
    text = json.dumps(run_record(run), ensure_ascii=False, indent=2, default=str)
    write_atomic(out / RUN_JSON, text + "\n", durable=False)


def run_record(run: CIRun) -> dict[str, Any]:
    ci, plan, changes = run.ci, run.plan, run.plan.changes
    return {
        "schema_version": SCHEMA_VERSION,
        "grader": version(),
        "assignment": run.spec.id,
        "layout": run.layout.value,
        "provider": ci.provider.value,
        "event": ci.event_name,
        "repository": ci.repository,
        "actor": ci.actor,
        "head": ci.head,
        "base": changes.base if changes else "",
        "changes": changes.how if changes else "",
        "hidden": run.hidden,
        "trust": asdict(run.trust) if run.trust else None,
        "exposed": list(run.exposed),
        "violations": [asdict(v) for v in plan.violations],
        "notes": [*ci.notes, *plan.notes],
        "students": [
            {
                "student": g.student,
                "folder": g.folder,
                "submission": g.target.path,
                "notebook": g.notebook,
                "status": g.result.status.value,
                "points": g.result.points,
                "max_points": g.result.max_points,
            }
            for g in run.graded
        ],
    }
