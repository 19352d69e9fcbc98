"""Student text made safe to show: never markup, never control codes.

Everything a submission can influence (messages with its values, file names, answers, cell
errors) reaches a terminal, a Markdown file or a web page. Terminal escape sequences (``ESC c``
clears the screen, ``ESC [ ... m`` recolours it), other control characters and bidirectional
overrides would let it rewrite what the instructor sees; rich markup (``[/]``) would restyle it
or crash the printer. :func:`printable` shows every such character as a visible escape
(``\\x1b``); :func:`text` also makes it a rich ``Text``, which is never parsed as markup.
"""

from __future__ import annotations

import re

from rich.text import Text

_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufff9-\ufffb]"
)
"""C0 controls but tab and newline, DEL, C1 controls (8-bit CSI), bidi marks and overrides."""


def printable(value: object) -> str:
    """``value`` as text with every control or bidi character shown as an escape."""
    return _UNSAFE.sub(_escape, str(value))


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def text(value: object, style: str = "") -> Text:
    """A rich ``Text`` of ``value``: printable, styled as a whole, never read as markup."""
    return Text(printable(value), style=style)
