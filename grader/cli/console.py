"""The CLI's two consoles: results on stdout, errors and diagnostics on stderr."""

from __future__ import annotations

from rich.console import Console

out = Console()
err = Console(stderr=True)
