"""``grade ci``: grading in the CI of a submissions repository (GitHub Actions, GitLab CI).

Modules, one idea each: ``environment`` (which service, which push), ``changes`` (what a push
changed, from git), ``roster`` and ``plan`` (which submissions to grade, who may push where),
``trust`` (may hidden tests run in this job), ``text`` (student text made safe for logs),
``annotations``, ``summary``, ``classroom``, ``artifacts`` (the outputs), ``cells`` (where a
cell starts in a notebook file), ``outcome`` and ``run`` (the whole job), ``publish`` (what a
job hands back), ``templates`` (``grade ci init``), ``cli`` (the Typer commands). docs/ci.md.

Where it meets the rest of the grader (kept few, to move easily): ``run`` calls
``grading.grade_submission``/``Options``, ``intake.find_notebook``, ``testing.run.run_tests``
(collect only, for Classroom's maximum), ``batch.worker.grader_error`` and
``sandbox.choose``; ``artifacts`` uses ``batch.store`` (``Store``, ``Record``, ``BatchInfo``),
``batch.intake.student_id`` and ``report.build.build_reports``; ``summary`` uses
``report.feedback.md_escape``; ``grader/cli.py`` registers ``ci_app``.
"""
