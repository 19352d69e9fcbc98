"""Per-student feedback, ``feedback.md`` and a self-contained ``feedback.html``.

What passed, what did not (with hints), written answers awaiting review, the late penalty, and
the pictures the tests left. Hidden tests show only their name, points and hint (the message of
a hidden TestResult already is the hint); output of the notebook is never shown. Everything
that came from a submission is escaped (Markdown and HTML).
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from grader.batch.store import ARTIFACTS, BatchInfo, Stored, write_report
from grader.report.gradebook import Lateness, lateness
from grader.report.safe import printable
from grader.results import AnswerResult, GradeResult, Outcome, Status, TestResult

EMBED_LIMIT = 2 * 1024 * 1024
_IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]!|<>~&])")


@dataclass(frozen=True)
class Sections:
    """Feedback content, independent of the output format."""

    title: str
    score: str
    status: Status
    message: str
    late: str
    parts: list[tuple[str, str]]
    passed: list[TestResult]
    partial: list[TestResult]
    failed: list[TestResult]
    answers: list[AnswerResult]
    cell_errors: list[tuple[str, str]]
    pictures: list[str]


def sections(stored: Stored, info: BatchInfo) -> Sections:
    r = stored.result
    return Sections(
        title=f"{info.title}: feedback for {stored.student}",
        score=f"{r.points:g} / {(r.max_points or info.max_points):g}",
        status=r.status,
        message=r.message,
        late=_late_text(r, lateness(stored, info), info),
        parts=[(c.title, f"{c.points:g} / {c.max_points:g}") for c in r.components],
        passed=[t for t in r.tests if t.outcome is Outcome.PASSED],
        partial=[t for t in r.tests if t.outcome is Outcome.PARTIAL],
        failed=[t for t in r.tests if t.outcome not in (Outcome.PASSED, Outcome.PARTIAL)],
        answers=list(r.answers),
        cell_errors=[
            (f"Cell {e.index + 1} raised {e.ename}: {e.evalue}", e.source_head)
            for e in r.cell_errors
        ],
        pictures=[n for n in r.artifacts if (stored.folder / ARTIFACTS / n).is_file()],
    )


def _late_text(r: GradeResult, late: Lateness, info: BatchInfo) -> str:
    if late.submitted_at is None or info.late.deadline is None:
        return ""
    when = late.submitted_at.isoformat(timespec="minutes")
    deadline = info.late.deadline.isoformat(timespec="minutes")
    if late.late_by.total_seconds() <= 0:
        return f"Submitted {when}, before the deadline ({deadline})."
    text = f"Submitted {when}, {late.hours:g} h after the deadline ({deadline})"
    if r.late_penalty > 0:
        return f"{text}: late penalty −{r.late_penalty:g} points."
    return f"{text}; no penalty (grace period or no late policy)."


def _clip(text: str, limit: int = 1500) -> str:
    return text if len(text) <= limit else text[:limit] + " …"


def test_name(t: TestResult) -> str:
    """``test_mlp::test_shapes (hidden)``: file and function, unique within an assignment."""
    path, _, name = t.id.rpartition("::")
    module = path.rsplit("/", 1)[-1].removesuffix(".py")
    return (f"{module}::{name}" if module else name) + (" (hidden)" if t.hidden else "")


def _answer_state(a: AnswerResult) -> str:
    if a.reviewed:
        return "reviewed by a teacher"
    if not a.answered:
        return f"missing: {a.message}" if a.message else "missing"
    if a.needs_review:
        note = f" — {a.message}" if a.message else ""
        return f"answered, awaits review (points provisional){note}"
    return "answered"


# ---------------------------------------------------------------- Markdown
def md_escape(text: str) -> str:
    """Text safe to put into Markdown: no markup, no raw HTML, no control codes, one line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(printable(text).split()))


def _fence(text: str, indent: str = "") -> str:
    """``text`` verbatim (control codes escaped) in a fenced block no backtick run can close."""
    text = printable(text)
    ticks = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, ticks + 1)
    lines = [f"{fence}text", *text.splitlines(), fence]
    return "\n".join(indent + line for line in lines)


def _code(text: str) -> str:
    """An inline code span for a short name (backticks cannot close it)."""
    text = " ".join(printable(text).split())
    ticks = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (ticks + 1)
    return f"{fence} {text} {fence}" if ticks else f"`{text}`"


def feedback_markdown(stored: Stored, info: BatchInfo) -> str:
    s = sections(stored, info)
    out = [
        f"# {md_escape(s.title)}",
        "",
        f"**Score: {s.score}** · status: `{s.status.value}`",
        "",
        md_escape(s.message),
    ]
    if s.late:
        out += ["", md_escape(s.late)]
    if s.parts:
        out += ["", "## Parts", "", "| part | points |", "|---|---|"]
        out += [f"| {md_escape(title)} | {pts} |" for title, pts in s.parts]
    out += _md_tests("Passed", "✓", s.passed) + _md_tests("Partly passed", "◐", s.partial)
    out += _md_tests("Not passed", "✗", s.failed)
    if s.answers:
        out += ["", "## Written answers", ""]
        for a in s.answers:
            out.append(
                f"- {_code(a.id)} ({a.points:g} / {a.max_points:g}): {md_escape(_answer_state(a))}"
            )
            if a.answered and a.text.strip():
                out += ["", _fence(_clip(a.text), indent="  "), ""]
            if a.comment:
                out += [f"  - teacher's comment: {md_escape(a.comment)}"]
    if s.cell_errors:
        out += ["", "## Errors while the notebook ran", ""]
        for head, source in s.cell_errors:
            out += [f"- {md_escape(head)}", "", _fence(source), ""]
    if s.pictures:
        out += ["", "## Pictures", ""]
        out += [f"![{md_escape(n)}]({ARTIFACTS}/{quote(n)})" for n in s.pictures]
    return "\n".join(out).rstrip() + "\n"


def _md_tests(title: str, mark: str, tests: list[TestResult]) -> list[str]:
    if not tests:
        return []
    out = ["", f"## {title}", ""]
    for t in tests:
        out.append(f"- {mark} {_code(test_name(t))} ({t.points:g} / {t.max_points:g})")
        if t.message:
            out += ["", _fence(t.message[:1500], indent="  "), ""]
    return out


# ---------------------------------------------------------------- HTML
_CSS = """body{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .6rem;text-align:left}
.ok{color:#17803d}.part{color:#a16207}.bad{color:#b91c1c}.msg{color:#444;white-space:pre-wrap}
pre{background:#f6f6f6;padding:.5rem;overflow:auto}img{max-width:100%;border:1px solid #ddd}"""


def e(text: str) -> str:
    """Text safe in HTML: escaped, control codes shown as escapes."""
    return html.escape(printable(text), quote=True)


def feedback_html(stored: Stored, info: BatchInfo) -> str:
    s = sections(stored, info)
    body = [
        f"<h1>{e(s.title)}</h1>",
        f"<p><strong>Score: {e(s.score)}</strong> · status: <code>{e(s.status.value)}</code>"
        f"</p><p class=msg>{e(s.message)}</p>",
    ]
    if s.late:
        body.append(f"<p>{e(s.late)}</p>")
    if s.parts:
        rows = "".join(f"<tr><td>{e(t)}</td><td>{e(p)}</td></tr>" for t, p in s.parts)
        body.append(f"<h2>Parts</h2><table><tr><th>part</th><th>points</th></tr>{rows}</table>")
    body += _html_tests("Passed", "ok", "✓", s.passed)
    body += _html_tests("Partly passed", "part", "◐", s.partial)
    body += _html_tests("Not passed", "bad", "✗", s.failed)
    if s.answers:
        items = "".join(
            f"<li><strong>{e(a.id)}</strong> ({a.points:g} / {a.max_points:g}): "
            f"{e(_answer_state(a))}"
            + (
                f"<blockquote class=msg>{e(_clip(a.text))}</blockquote>"
                if a.answered and a.text.strip()
                else ""
            )
            + (f"<p class=comment>Teacher's comment: {e(a.comment)}</p>" if a.comment else "")
            + "</li>"
            for a in s.answers
        )
        body.append(f"<h2>Written answers</h2><ul>{items}</ul>")
    if s.cell_errors:
        items = "".join(f"<li>{e(h)}<pre>{e(src)}</pre></li>" for h, src in s.cell_errors)
        body.append(f"<h2>Errors while the notebook ran</h2><ul>{items}</ul>")
    if s.pictures:
        imgs = "".join(_img(stored.folder / ARTIFACTS / n, n) for n in s.pictures)
        body.append(f"<h2>Pictures</h2>{imgs}")
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width'><title>{e(s.title)}</title>"
        f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )


def _html_tests(title: str, css: str, mark: str, tests: list[TestResult]) -> list[str]:
    if not tests:
        return []
    items = "".join(
        f"<li><span class={css}>{mark}</span> {e(test_name(t))} ({t.points:g} / "
        f"{t.max_points:g})"
        + (f"<div class=msg>{e(t.message[:1500])}</div>" if t.message else "")
        + "</li>"
        for t in tests
    )
    return [f"<h2>{e(title)}</h2><ul>{items}</ul>"]


def _img(path: Path, name: str) -> str:
    """Embed small images, so the page can be sent as one file; link the rest."""
    kind = _IMAGE_TYPES.get(path.suffix.lower())
    if kind is not None and path.stat().st_size <= EMBED_LIMIT:
        data = base64.b64encode(path.read_bytes()).decode()
        return (
            f"<figure><img alt='{e(name)}' src='data:{kind};base64,{data}'>"
            f"<figcaption>{e(name)}</figcaption></figure>"
        )
    return f"<p><a href='{e(ARTIFACTS + '/' + quote(name))}'>{e(name)}</a></p>"


def write_feedback(stored: Stored, info: BatchInfo) -> None:
    write_report(stored.folder / "feedback.md", feedback_markdown(stored, info))
    write_report(stored.folder / "feedback.html", feedback_html(stored, info))
