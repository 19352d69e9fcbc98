"""The ``grade`` command line (Typer): parse, call the library, render, pick the exit code."""

from grader.cli.main import app

__all__ = ["app"]
