"""Per-student feedback, ``feedback.md`` and a self-contained ``feedback.html``.

What passed, what did not (with hints), written answers awaiting review, the late penalty, and
the pictures the tests left. Hidden tests show only their name, points and hint (the message of
a hidden TestResult already is the hint); output of the notebook is never shown. Everything
that came from a submission is escaped (Markdown and HTML). The fixed text speaks the course's
language (``chrome.py``).
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from grader.core.lang import Language
from grader.core.results import AnswerResult, GradeResult, MetricResult, Outcome, TestResult
from grader.core.store import ARTIFACTS, BatchInfo, Stored, write_report
from grader.report.chrome import Chrome as C
from grader.report.chrome import status
from grader.report.gradebook import Lateness, lateness
from grader.report.safe import printable

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

    lang: Language
    title: str
    score: str
    status: str
    """The verdict's label in the course's language, with its code: ``time limit (timeout)``."""
    message: str
    late: str
    parts: list[tuple[str, str]]
    passed: list[TestResult]
    partial: list[TestResult]
    failed: list[TestResult]
    metrics: list[tuple[str, str, str]]
    """(metric id, value against its thresholds, points)."""
    answers: list[AnswerResult]
    cell_errors: list[tuple[str, str]]
    pictures: list[str]


def sections(stored: Stored, info: BatchInfo) -> Sections:
    r = stored.result
    lang = r.language
    return Sections(
        lang=lang,
        title=C.feedback_for(lang, title=info.title, student=stored.student),
        score=f"{r.points:g} / {(r.max_points or info.max_points):g}",
        status=f"{status(r.status, lang)} ({r.status.value})",
        message=r.message,
        late=_late_text(r, lateness(stored, info), info),
        parts=[(c.title, f"{c.points:g} / {c.max_points:g}") for c in r.components],
        passed=[t for t in r.tests if t.outcome is Outcome.PASSED],
        partial=[t for t in r.tests if t.outcome is Outcome.PARTIAL],
        failed=[t for t in r.tests if t.outcome not in (Outcome.PASSED, Outcome.PARTIAL)],
        metrics=[_metric(m, lang) for m in r.metrics],
        answers=list(r.answers),
        cell_errors=[
            (C.cell_error(lang, cell=e.index + 1, ename=e.ename, evalue=e.evalue), e.source_head)
            for e in r.cell_errors
        ],
        pictures=[n for n in r.artifacts if (stored.folder / ARTIFACTS / n).is_file()],
    )


def _metric(m: MetricResult, lang: Language) -> tuple[str, str, str]:
    value = C.not_measured(lang) if m.value is None else f"{m.value:.4g}"
    line = C.metric_line(lang, value=value, zero=m.zero, full=m.full)
    return m.id, line, f"{m.points:g} / {m.max_points:g}"


def _late_text(r: GradeResult, late: Lateness, info: BatchInfo) -> str:
    if late.submitted_at is None or info.late.deadline is None:
        return ""
    lang = r.language
    when = late.submitted_at.isoformat(timespec="minutes")
    deadline = info.late.deadline.isoformat(timespec="minutes")
    if late.late_by.total_seconds() <= 0:
        return C.on_time(lang, when=when, deadline=deadline)
    text = C.late(lang, when=when, hours=late.hours, deadline=deadline)
    if r.late_penalty > 0:
        return C.late_penalty(lang, late=text, points=r.late_penalty)
    return C.no_penalty(lang, late=text)


def _clip(text: str, limit: int = 1500) -> str:
    return text if len(text) <= limit else text[:limit] + " …"


def test_name(t: TestResult, lang: Language = "en") -> str:
    """``test_mlp::test_shapes (hidden)``: file and function, unique within an assignment."""
    path, _, name = t.id.rpartition("::")
    module = path.rsplit("/", 1)[-1].removesuffix(".py")
    return (f"{module}::{name}" if module else name) + (C.hidden(lang) if t.hidden else "")


def answer_state(a: AnswerResult, lang: Language) -> str:
    if a.reviewed:
        return C.reviewed(lang)
    if not a.answered:
        return C.missing_answer(lang, reason=a.message) if a.message else C.missing_plain(lang)
    if a.needs_review:
        return C.awaits_review(lang) + (f" — {a.message}" if a.message else "")
    return C.answered(lang)


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
    lang = s.lang
    out = [
        f"# {md_escape(s.title)}",
        "",
        f"**{C.score(lang)}: {s.score}** · {C.status(lang)}: {md_escape(s.status)}",
        "",
        md_escape(s.message),
    ]
    if s.late:
        out += ["", md_escape(s.late)]
    if s.parts:
        out += ["", f"## {C.parts(lang)}", "", f"| {C.part(lang)} | {C.points(lang)} |"]
        out += ["|---|---|", *[f"| {md_escape(title)} | {pts} |" for title, pts in s.parts]]
    out += _md_tests(C.passed(lang), "✓", s.passed, lang)
    out += _md_tests(C.partly(lang), "◐", s.partial, lang)
    out += _md_tests(C.failed(lang), "✗", s.failed, lang)
    if s.metrics:
        out += ["", f"## {C.metrics(lang)}", ""]
        out += [f"- {_code(m)}: {md_escape(line)} ({pts})" for m, line, pts in s.metrics]
    if s.answers:
        out += ["", f"## {C.answers(lang)}", ""]
        for a in s.answers:
            state = md_escape(answer_state(a, lang))
            out.append(f"- {_code(a.id)} ({a.points:g} / {a.max_points:g}): {state}")
            if a.answered and a.text.strip():
                out += ["", _fence(_clip(a.text), indent="  "), ""]
            if a.comment:
                out += [f"  - {md_escape(C.teacher_comment(lang, comment=a.comment))}"]
    if s.cell_errors:
        out += ["", f"## {C.cell_errors(lang)}", ""]
        for head, source in s.cell_errors:
            out += [f"- {md_escape(head)}", "", _fence(source), ""]
    if s.pictures:
        out += ["", f"## {C.pictures(lang)}", ""]
        out += [f"![{md_escape(n)}]({ARTIFACTS}/{quote(n)})" for n in s.pictures]
    return "\n".join(out).rstrip() + "\n"


def _md_tests(title: str, mark: str, tests: list[TestResult], lang: Language) -> list[str]:
    if not tests:
        return []
    out = ["", f"## {title}", ""]
    for t in tests:
        out.append(f"- {mark} {_code(test_name(t, lang))} ({t.points:g} / {t.max_points:g})")
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
    lang = s.lang
    body = [
        f"<h1>{e(s.title)}</h1>",
        f"<p><strong>{e(C.score(lang))}: {e(s.score)}</strong> · {e(C.status(lang))}: "
        f"{e(s.status)}</p><p class=msg>{e(s.message)}</p>",
    ]
    if s.late:
        body.append(f"<p>{e(s.late)}</p>")
    if s.parts:
        rows = "".join(f"<tr><td>{e(t)}</td><td>{e(p)}</td></tr>" for t, p in s.parts)
        head = f"<tr><th>{e(C.part(lang))}</th><th>{e(C.points(lang))}</th></tr>"
        body.append(f"<h2>{e(C.parts(lang))}</h2><table>{head}{rows}</table>")
    body += _html_tests(C.passed(lang), "ok", "✓", s.passed, lang)
    body += _html_tests(C.partly(lang), "part", "◐", s.partial, lang)
    body += _html_tests(C.failed(lang), "bad", "✗", s.failed, lang)
    if s.metrics:
        items = "".join(
            f"<li><code>{e(m)}</code>: {e(line)} ({e(pts)})</li>" for m, line, pts in s.metrics
        )
        body.append(f"<h2>{e(C.metrics(lang))}</h2><ul>{items}</ul>")
    if s.answers:
        items = "".join(
            f"<li><strong>{e(a.id)}</strong> ({a.points:g} / {a.max_points:g}): "
            f"{e(answer_state(a, lang))}"
            + (
                f"<blockquote class=msg>{e(_clip(a.text))}</blockquote>"
                if a.answered and a.text.strip()
                else ""
            )
            + (
                f"<p class=comment>{C.teacher_comment(lang, comment=e(a.comment))}</p>"
                if a.comment
                else ""
            )
            + "</li>"
            for a in s.answers
        )
        body.append(f"<h2>{e(C.answers(lang))}</h2><ul>{items}</ul>")
    if s.cell_errors:
        items = "".join(f"<li>{e(h)}<pre>{e(src)}</pre></li>" for h, src in s.cell_errors)
        body.append(f"<h2>{e(C.cell_errors(lang))}</h2><ul>{items}</ul>")
    if s.pictures:
        imgs = "".join(_img(stored.folder / ARTIFACTS / n, n) for n in s.pictures)
        body.append(f"<h2>{e(C.pictures(lang))}</h2>{imgs}")
    return (
        f"<!doctype html><html lang={lang}><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width'><title>{e(s.title)}</title>"
        f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )


def _html_tests(
    title: str, css: str, mark: str, tests: list[TestResult], lang: Language
) -> list[str]:
    if not tests:
        return []
    items = "".join(
        f"<li><span class={css}>{mark}</span> {e(test_name(t, lang))} ({t.points:g} / "
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
