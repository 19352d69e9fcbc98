"""CLI of the Docker backend: ``grade image build``, ``grade sandbox prune``, ``grade doctor``.

Only parsing and rendering; the work is in ``grader.sandbox.docker`` (imported inside the
commands). Exit codes as ``exits.py`` says: 2 when the command cannot run (no engine, a failed
build), 1 when ``grade doctor`` finds something required missing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from grader.cli import console
from grader.cli.exits import ExitCode, leave, reported

if TYPE_CHECKING:
    from grader.sandbox.docker.doctor import Check

image_app = typer.Typer(help="The runtime image of the Docker sandbox.", no_args_is_help=True)
sandbox_app = typer.Typer(help="Sandbox housekeeping.", no_args_is_help=True)


@image_app.command("build")
def build(
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="No registry or index: debootstrap base + wheels from a host-side wheelhouse.",
        ),
    ] = False,
    gpu: Annotated[bool, typer.Option("--gpu", help="CUDA build of torch.")] = False,
    wheelhouse: Annotated[
        Path | None,
        typer.Option(help="Wheel folder for --offline (filled by pip download if needed)."),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(
            help="Base image (default python:3.11-slim, offline dl-grader-base:bookworm)."
        ),
    ] = None,
    torch_index: Annotated[
        str | None,
        typer.Option(
            help="Extra index for torch ('' for none; default: the variant's index, none offline)."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Build even if the tag exists.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show build output.")] = False,
    assignment: Annotated[
        list[str] | None,
        typer.Option(
            "--assignment",
            "-a",
            help="Also build this app assignment's image extension (its packages and models).",
        ),
    ] = None,
    models: Annotated[
        Path | None,
        typer.Option(help="Folder of model weights to bake into /opt/models (with --assignment)."),
    ] = None,
) -> None:
    """Build the runtime image (skipped when an image with the recipe's tag exists)."""
    from grader.sandbox.docker.engine import connect
    from grader.sandbox.docker.image import build_image, load_recipe

    with reported():
        recipe = load_recipe(gpu=gpu, offline=offline, base=base, torch_index=torch_index)
        client = connect()
        with console.out.status(f"building {recipe.tag} from {recipe.base} ..."):
            result = build_image(
                recipe=recipe,
                client=client,
                wheelhouse=wheelhouse,
                force=force,
                on_output=_printer(verbose),
            )
    what = f"built in {result.seconds:.0f} s" if result.built else "already built"
    console.out.print(f"[green]✓[/] {result.tag} {what}; alias {result.alias}")
    for assignment_id in assignment or []:
        _build_extension(
            assignment_id, offline=offline, wheelhouse=wheelhouse, models=models, force=force,
            gpu=gpu, verbose=verbose,
        )  # fmt: skip


def _build_extension(
    assignment_id: str,
    *,
    offline: bool,
    wheelhouse: Path | None,
    models: Path | None,
    force: bool,
    gpu: bool,
    verbose: bool,
) -> None:
    from grader.core.spec import find_assignment
    from grader.pipeline.services.image import build_extension, load_extension
    from grader.sandbox.docker.engine import connect

    with reported():
        spec = find_assignment(assignment_id)
        client = connect()
        ext = load_extension(spec, client=client, extra_models=models, gpu=gpu)
        with console.out.status(f"building {ext.tag} for {assignment_id} ..."):
            result = build_extension(
                ext, client=client, offline=offline, wheelhouse=wheelhouse, force=force,
                on_output=_printer(verbose),
            )  # fmt: skip
    what = f"built in {result.seconds:.0f} s" if result.built else "already built"
    console.out.print(f"[green]✓[/] {result.tag} {what}; alias {result.alias}")


def _printer(verbose: bool) -> Callable[[str], None]:
    def show(line: str) -> None:
        if verbose:
            console.out.print(escape(line), highlight=False)

    return show


@sandbox_app.command("prune")
def prune(
    everything: Annotated[
        bool,
        typer.Option(
            "--all", help="Also containers of graders that may still be running (not folders)."
        ),
    ] = False,
) -> None:
    """Remove the sandbox containers and host folders left by graders that were killed."""
    from grader.sandbox.docker.engine import connect
    from grader.sandbox.reclaim import reclaim

    with reported():
        client = connect()
        try:
            found = reclaim(docker=client, everything=everything)
        finally:
            client.close()
    for name in found.containers:
        console.out.print(f"removed container {escape(name)}", highlight=False, soft_wrap=True)
    for folder in found.folders:
        console.out.print(f"removed folder {escape(str(folder))}", highlight=False, soft_wrap=True)
    console.out.print(
        f"{len(found.containers)} sandbox container(s) and {len(found.folders)} folder(s) removed"
    )


def doctor(
    gpu: Annotated[bool, typer.Option("--gpu", help="GPUs are required too.")] = False,
) -> None:
    """Check Docker, the runtime image and GPUs; print how to fix what is missing."""
    from grader.sandbox.docker.doctor import failed, run_checks

    checks = run_checks(require_gpu=gpu)
    console.out.print(_table(checks))
    leave(ExitCode.NOT_GOOD if failed(checks) else ExitCode.OK)


def _table(checks: list[Check]) -> Table:
    table = Table(title="grade doctor", show_lines=False)
    for column in ("", "check", "found", "fix"):
        table.add_column(column)
    for check in checks:
        table.add_row(_mark(check), check.name, escape(check.detail), escape(check.fix))
    return table


def _mark(check: Check) -> str:
    if check.ok:
        return "[yellow]![/]" if check.fix else "[green]✓[/]"
    return "[red]✗[/]" if check.required else "[yellow]-[/]"
