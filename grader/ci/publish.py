"""Everything a ``grade ci`` job hands back: files, step summary, step outputs, log lines.

* ``--out`` (the artifact): results, reports, ``ci.json``, the whole summary;
* ``$GITHUB_STEP_SUMMARY``: the summary, cut to what fits GitHub's 1 MiB;
* ``$GITHUB_OUTPUT``: ``graded``, ``violations``, ``points``/``max-points``/``status`` for one
  submission, and Classroom's ``result`` in the classroom layout;
* the log: annotations (GitHub workflow commands) or their plain lines (GitLab).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.ci.annotations import annotations_for, github_command, plain_line
from grader.ci.artifacts import write_reports, write_run
from grader.ci.classroom import (
    RUNNER_OUTPUT,
    classroom_result,
    encode,
    refused_result,
    write_outputs,
)
from grader.ci.environment import CIEnv, Provider, detect
from grader.ci.outcome import CIRun
from grader.ci.plan import Layout
from grader.ci.summary import LIMIT, summary_markdown


@dataclass
class Published:
    lines: list[str] = field(default_factory=list)
    """For the job's log, in order (annotations on GitHub)."""
    files: list[Path] = field(default_factory=list)


def publish(run: CIRun, *, out: Path, per_level: int, max_score: float | None) -> Published:
    done = Published()
    write_run(out, run, summary_markdown(run))
    done.files.append(out)
    if run.graded:
        done.files.append(write_reports(out, run.spec))
    if run.ci.summary_file is not None:
        _append_summary(run, run.ci.summary_file)
    if run.ci.output_file is not None:
        write_outputs(run.ci.output_file, _outputs(run, max_score))
    render = github_command if run.ci.provider is Provider.GITHUB else plain_line
    done.lines = [render(a) for a in annotations_for(run, per_level=per_level)]
    return done


def _append_summary(run: CIRun, path: Path) -> None:
    """Append to this step's summary what still fits in GitHub's limit."""
    used = path.stat().st_size if path.is_file() else 0
    text = summary_markdown(run, limit=max(0, LIMIT - used))
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)


def _outputs(run: CIRun, max_score: float | None) -> dict[str, str]:
    values = {"graded": str(len(run.graded)), "violations": str(len(run.plan.violations))}
    if len(run.graded) == 1:
        r = run.graded[0].result
        values |= {"points": f"{r.points:g}", "max-points": f"{r.max_points:g}"}
        values["status"] = r.status.value
    if run.layout is Layout.CLASSROOM:
        values[RUNNER_OUTPUT] = encode(_classroom(run, max_score or 0.0))
    return values


def _classroom(run: CIRun, max_score: float) -> dict[str, Any]:
    if run.refused and run.trust is not None:
        return refused_result("; ".join(run.trust.reasons), max_score=max_score)
    if not run.graded:
        reasons = "; ".join(f"{v.path}: {v.reason}" for v in run.plan.violations)
        return refused_result(reasons or "nothing was graded", max_score=max_score)
    return classroom_result(run.graded[0], max_score=max_score)


def publish_failure(environ: Mapping[str, str], *, layout: Layout, message: str) -> bool:
    """When grading could not run at all, still hand Classroom an ``error`` result, so its
    reporter says why instead of failing on an empty output. True if one was written."""
    ci: CIEnv | None = detect(environ)
    if ci is None or ci.output_file is None or layout is not Layout.CLASSROOM:
        return False
    write_outputs(ci.output_file, {RUNNER_OUTPUT: encode(refused_result(message, max_score=0.0))})
    return True
