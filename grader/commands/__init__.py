"""Typer command functions, registered on the app in ``grader.cli``."""
