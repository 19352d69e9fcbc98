"""Grading a class: intake of many submissions, cache, lock, parallel workers, events.

Entry point for callers: :func:`grader.batch.runner.run_batch`; the CLI lives in
``grader.cli.batch`` and the reports in ``grader.report``.
"""
