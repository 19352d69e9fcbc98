"""The job summary: points per part for each submission, and the next steps, in Markdown.

GitHub shows ``$GITHUB_STEP_SUMMARY`` when it holds at most 1 MiB per step (else it shows
nothing but an error), so the table and the per-student details are added only while they fit,
and the summary says what it left out. Every text that came from a repository (folder names,
messages, cell sources, logins) is escaped: no Markdown, no HTML, no links, no mentions.
"""

from __future__ import annotations

import re

from grader.ci.outcome import CIRun, Graded, test_title
from grader.ci.text import one_line
from grader.report.feedback import md_escape

LIMIT = 1024 * 1024
"""GitHub's limit for one step's summary, in bytes."""
RESERVE = 2048
"""Room kept for the closing line that says what was left out."""
_LINKISH = re.compile(r"(?=://)|(?<=www)(?=\.)")


def md(text: str, limit: int = 300) -> str:
    """Repository text as inert Markdown on one line."""
    escaped = md_escape(one_line(text, limit))
    escaped = _LINKISH.sub("\\\\", escaped)  # `https\://`, `www\.`: no autolinks
    return escaped.replace("@", "\\@").replace("$", "\\$")


def summary_markdown(run: CIRun, *, limit: int | None = None) -> str:
    """The whole summary, or as much of it as fits in ``limit`` bytes."""
    head = _header(run)
    rows = _table(run)
    details = ["\n".join(_details(g, run)) for g in run.graded]
    if limit is None:
        return "\n".join([*head, *rows, "", *details]).rstrip() + "\n"
    return _fit(head, rows, details, limit - RESERVE)


def _fit(head: list[str], rows: list[str], details: list[str], budget: int) -> str:
    blocks = ["\n".join(head), *rows, "", *details]
    out, used = [], 0
    for i, block in enumerate(blocks):
        size = len(block.encode("utf-8")) + 1
        if used + size > budget:
            out.append(
                _left_out(
                    rows_left=max(0, len(rows) + 1 - i),
                    details_left=min(len(details), len(blocks) - i),
                )
            )
            break
        out.append(block)
        used += size
    return "\n".join(out).rstrip() + "\n"


def _left_out(*, rows_left: int, details_left: int) -> str:
    rows = f"{rows_left} rows of the table and " if rows_left else ""
    return (
        f"\n_Not shown here (GitHub's 1 MiB summary limit): {rows}{details_left} students' "
        "details; the whole summary is step-summary.md in the job's `grade-ci` artifact._"
    )


def _header(run: CIRun) -> list[str]:
    spec, ci = run.spec, run.ci
    mode = "with hidden tests" if run.hidden and not run.refused else "public checks only"
    who = f" by {md(ci.actor, 100)}" if ci.actor else ""
    how = run.plan.changes.how if run.plan.changes else "its one submission"
    lines = [
        f"## grade ci · {md(spec.title)} (`{spec.id}`) · {mode}",
        "",
        f"Commit `{ci.head[:12]}` · {md(ci.event_name or ci.event.value, 50)}{who} · {md(how)}",
    ]
    if not run.hidden:
        lines += [
            "",
            "Hidden checks run only at grading, where students cannot change the workflow.",
        ]
    lines += _refusal(run) + _problems(run)
    notes = [*ci.notes, *run.plan.notes]
    if notes:
        lines += ["", *(f"- ℹ️ {md(n)}" for n in notes)]
    if run.plan.targets == () and not run.refused:
        lines += ["", "No submission to grade in this push."]
    return lines


def _refusal(run: CIRun) -> list[str]:
    if not run.refused or run.trust is None:
        return []
    lines = ["", "### ⛔ Hidden tests refused: nothing was graded", ""]
    lines += [f"- {md(r, 600)}" for r in run.trust.reasons]
    return [*lines, "", "See docs/ci.md, “Trust model”."]


def _problems(run: CIRun) -> list[str]:
    lines = [f"- ⚠️ {md(v.path, 200)}: {md(v.reason)}" for v in run.plan.violations]
    if run.exposed:
        shown = ", ".join(md(p, 200) for p in run.exposed[:10])
        lines.append(
            f"- ⚠️ hidden tests or data are committed to this repository, which students can "
            f"read: {shown}{' …' if len(run.exposed) > 10 else ''} (instructors: remove them "
            "and change those tests)"
        )
    return ["", "### Problems", "", *lines] if lines else []


def _table(run: CIRun) -> list[str]:
    if not run.graded:
        return []
    parts = run.spec.components
    head = [
        "",
        "| student | points | status | " + " | ".join(md(c.title, 60) for c in parts) + " |",
    ]
    head.append("|---|---:|---|" + "---:|" * len(parts))
    rows = []
    for g in run.graded:
        r = g.result
        by_id = {c.id: c for c in r.components}
        cells = [
            f"{by_id[c.id].points:g} / {by_id[c.id].max_points:g}" if c.id in by_id else "–"
            for c in parts
        ]
        rows.append(
            f"| {md(g.student, 100)} | {r.points:g} / {r.max_points:g} | `{r.status.value}` | "
            + " | ".join(cells)
            + " |"
        )
    return head + rows


def _details(g: Graded, run: CIRun) -> list[str]:
    r = g.result
    lines = [f"### {md(g.student, 100)} · {r.points:g} / {r.max_points:g}", "", md(r.message, 600)]
    if r.late_penalty:
        lines += ["", f"Late penalty: −{r.late_penalty:g} points."]
    steps = _next_steps(g)
    lines += ["", "**Next steps**", "", *(steps or ["- all checks passed ✓"])]
    return [*lines, ""]


def _next_steps(g: Graded) -> list[str]:
    r = g.result
    steps = [
        f"- `{test_title(t)}` ({t.points:g} / {t.max_points:g}): {md(t.message or t.outcome.value)}"
        for t in g.failed_tests()
    ]
    steps += [
        f"- answer `{a.id}` in a markdown cell starting **Ответ {a.id}:** ({md(a.message)})"
        for a in r.answers
        if not a.answered
    ]
    steps += [
        f"- cell {e.index + 1} raised {md(e.ename, 80)}: {md(e.evalue)}" for e in r.cell_errors[:5]
    ]
    if r.hidden_not_run:
        pending = sum(r.hidden_points_pending.values())
        steps.append(
            f"- **Not your grade yet**: {r.hidden_not_run} hidden check(s) worth {pending:g} "
            "points run only at grading, on data you do not have"
        )
    if r.needs_review:
        steps.append("- written answers are scored provisionally; a teacher reviews them")
    return steps
