"""Where each cell starts in a notebook file, so an annotation can point at the failing cell.

A notebook is JSON; the line of cell ``i`` is the line of the ``{`` that opens the ``i``-th
element of the top-level ``cells`` array. Found with a small tokenizer that knows strings,
so a student's source holding ``"cells"`` or braces cannot shift the count.
"""

from __future__ import annotations

import re
from pathlib import Path

_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[{}\[\],:]|\n')
MAX_BYTES = 50 * 1024 * 1024


def cell_lines(path: Path) -> tuple[int, ...]:
    """1-based line of each cell's opening brace; () when the file is not a readable notebook."""
    try:
        if path.stat().st_size > MAX_BYTES:
            return ()
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ()
    return _scan(text)


def _scan(text: str) -> tuple[int, ...]:
    line, key, last_key, expect_key = 1, "", "", False
    stack: list[str] = []
    lines: list[int] = []
    for m in _TOKEN.finditer(text):
        tok = m.group()
        if tok == "\n":
            line += 1
        elif tok[0] == '"':
            if expect_key and len(stack) == 1:
                key = tok[1:-1]
            expect_key = False
        elif tok == ":":
            last_key = key if len(stack) == 1 else last_key
        elif tok in "{[":
            if tok == "{" and stack == ["{", "cells"]:
                lines.append(line)
            stack.append("cells" if tok == "[" and len(stack) == 1 and last_key == "cells" else tok)
            expect_key = tok == "{"
        elif tok in "}]":
            if stack:
                stack.pop()
            expect_key = False
        elif tok == ",":
            expect_key = bool(stack) and stack[-1] == "{"
    return tuple(lines)
