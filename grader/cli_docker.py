"""CLI of the Docker backend: ``grade image build``, ``grade sandbox prune``, ``grade doctor``.

Only parsing and rendering; the work is in :mod:`grader.image`, :mod:`grader.doctor` and
:mod:`grader.sandbox.docker`. Exit codes: 0 fine, 1 something required is missing or failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from grader.doctor import Check, failed, run_checks
from grader.errors import GraderError
from grader.image import Output, build_image, load_recipe
from grader.sandbox import docker as docker_sandbox

image_app = typer.Typer(help="The runtime image of the Docker sandbox.", no_args_is_help=True)
sandbox_app = typer.Typer(help="Sandbox housekeeping.", no_args_is_help=True)

console = Console()
err_console = Console(stderr=True)


def _fail(exc: GraderError) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(exc.message)}")
    if exc.hint:
        err_console.print(f"  → {escape(exc.hint)}")
    return typer.Exit(code=1)


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
    try:
        recipe = load_recipe(gpu=gpu, offline=offline, base=base, torch_index=torch_index)
        client = docker_sandbox.connect()
        with console.status(f"building {recipe.tag} from {recipe.base} ..."):
            result = build_image(
                recipe=recipe,
                client=client,
                wheelhouse=wheelhouse,
                force=force,
                on_output=_printer(verbose),
            )
    except GraderError as exc:
        raise _fail(exc) from None
    what = f"built in {result.seconds:.0f} s" if result.built else "already built"
    console.print(f"[green]✓[/] {result.tag} {what}; alias {result.alias}")
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
    from grader.services.image import build_extension, load_extension
    from grader.spec import find_assignment

    try:
        spec = find_assignment(assignment_id)
        client = docker_sandbox.connect()
        ext = load_extension(spec, client=client, extra_models=models, gpu=gpu)
        with console.status(f"building {ext.tag} for {assignment_id} ..."):
            result = build_extension(
                ext, client=client, offline=offline, wheelhouse=wheelhouse, force=force,
                on_output=_printer(verbose),
            )  # fmt: skip
    except GraderError as exc:
        raise _fail(exc) from None
    what = f"built in {result.seconds:.0f} s" if result.built else "already built"
    console.print(f"[green]✓[/] {result.tag} {what}; alias {result.alias}")


def _printer(verbose: bool) -> Output:
    def show(line: str) -> None:
        if verbose:
            console.print(escape(line), highlight=False)

    return show


@sandbox_app.command("prune")
def prune(
    everything: Annotated[
        bool,
        typer.Option("--all", help="Also containers of graders that may still be running."),
    ] = False,
) -> None:
    """Remove sandbox containers left behind by graders that were killed."""
    try:
        removed = docker_sandbox.prune(client=docker_sandbox.connect(), everything=everything)
    except GraderError as exc:
        raise _fail(exc) from None
    for name in removed:
        console.print(f"removed {name}")
    console.print(f"{len(removed)} sandbox container(s) removed")


def doctor(
    gpu: Annotated[bool, typer.Option("--gpu", help="GPUs are required too.")] = False,
) -> None:
    """Check Docker, the runtime image and GPUs; print how to fix what is missing."""
    checks = run_checks(require_gpu=gpu)
    console.print(_table(checks))
    if failed(checks):
        raise typer.Exit(code=1)


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


def standalone_app() -> typer.Typer:
    """These commands without the rest of ``grade`` (``python -m grader.cli_docker ...``)."""
    app = typer.Typer(help="Docker backend of the grader.", no_args_is_help=True)
    app.add_typer(image_app, name="image")
    app.add_typer(sandbox_app, name="sandbox")
    app.command("doctor")(doctor)
    return app


if __name__ == "__main__":
    standalone_app()()
