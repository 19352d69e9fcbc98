"""Fixtures for ``grade ci`` tests: a git repository in tmp_path and the CLI in a clean
environment (helpers in ``ci_jobs.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ci_jobs import Job, Ran, Repo, Run
from typer.testing import CliRunner

from grader import cli


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "repo")


@pytest.fixture
def grade_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Run:
    """``grade_ci(job, "--assignment", "tiny", ...)``: the CLI, in a clean environment with only
    the job's variables (the suite itself may run in CI)."""
    for name in list(os.environ):
        if name.startswith(("GITHUB_", "GITLAB_", "CI_", "RUNNER_")) or name in (
            "CI",
            "GRADER_COURSE",
            "GRADER_TRUSTED_REPOS",
        ):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # a relative --out never lands in the repository

    def run(job: Job, *args: str) -> Ran:
        argv = ["ci", *args]
        if "--out" not in args:
            argv += ["--out", str(job.out)]
        if "--backend" not in args:
            argv += ["--backend", "local"]
        result = CliRunner().invoke(cli.app, argv, env=job.env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Ran(result.exit_code, result.stdout, result.stderr)

    return run
