"""``grade ci``: grading in the CI of a submissions repository (GitHub Actions, GitLab CI).

Modules, one idea each: ``environment`` (which service, which push), ``changes`` (what a push
changed, from git), ``roster`` and ``plan`` (which submissions to grade, who may push where),
``trust`` (may hidden tests run in this job), ``text`` (student text made safe for logs),
``annotations``, ``summary``, ``classroom``, ``artifacts`` (the outputs), ``cells`` (where a
cell starts in a notebook file), ``run`` (the whole job), ``templates`` and ``image_cache``
(``grade ci init``), ``cli`` (the Typer commands). See docs/ci.md.
"""
