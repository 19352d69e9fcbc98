"""Student text made safe for CI logs: it is data and never becomes a command.

The GitHub runner reads a log line that starts (after spaces) with ``::`` or ``##[`` as a
workflow command (``::add-mask::``, ``::stop-commands::``, ``::set-output``...); terminal
escapes rewrite what a log shows (and GitLab's collapsible sections are escapes too). So control
characters are dropped, and a line that would start a command is quoted with ``» ``.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_COMMAND = re.compile(r"^(\s*)(::|##\[)", re.MULTILINE)
QUOTE = "» "


def clean(text: str) -> str:
    """No control characters, no terminal escapes, no lone surrogates (odd file names)."""
    text = text.encode("utf-8", errors="replace").decode("utf-8")
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def log_safe(text: str) -> str:
    """Text that prints as itself on any number of lines."""
    return _COMMAND.sub(lambda m: m.group(1) + QUOTE + m.group(2), clean(text))


def one_line(text: str, limit: int = 300) -> str:
    """One line of at most ``limit`` characters, safe anywhere a log line is."""
    flat = " ".join(clean(text[: 4 * limit + 64]).split())  # a huge message is cut first
    flat = flat if len(flat) <= limit else flat[: limit - 1] + "…"
    return log_safe(flat)
