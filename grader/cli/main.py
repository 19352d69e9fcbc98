"""The ``grade`` application: every command registered in one place.

Command modules import the library inside the commands, so that a command which needs little
(``grade report`` re-renders stored JSON) does not load the kernel stack. Exit codes and error
messages are decided in ``exits.py`` only.
"""

from __future__ import annotations

import typer

from grader.cli.batch import batch, report
from grader.cli.check import check, validate
from grader.cli.ci import ci_app
from grader.cli.cycle import assign, export, review
from grader.cli.docker import doctor, image_app, sandbox_app
from grader.cli.release import release

app = typer.Typer(
    help="Grade deep-learning homework notebooks: hidden tests on the host, code in a sandbox.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(check)
app.command()(validate)
app.command()(batch)
app.command()(report)
app.command()(release)
app.command()(review)
app.command()(export)
app.command()(assign)
app.command()(doctor)
app.add_typer(image_app, name="image")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(ci_app, name="ci")
