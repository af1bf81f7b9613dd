"""`shardplan validate SPEC… [--source FILE] [--format …] [--strict]`.

pre-commit runs this on every commit, so it imports only what reading a spec
needs: no JSON Schema library, no plan builder, no executor. A spec that
`quick_check` finds certainly clean is done without loading the models at all;
any other spec goes through `spec_loading`, which finds and explains every
problem. `--source` pulls in the compiler's source reader and sharding,
lazily, only when given.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from shardplan_compiler import exit_codes
from shardplan_compiler.commands.options import diagnostic_format_option
from shardplan_compiler.quick_check import certainly_clean
from shardplan_compiler.render.diagnostics import (
    FORMAT_BY_NAME,
    DiagnosticFormat,
    render_diagnostics,
)

if TYPE_CHECKING:
    from shardplan_compiler.spec_loading import LoadedSpec
    from shardplan_schemas.diagnostics import Diagnostic
IO_CODES = frozenset({"SP100"})
"""Findings that mean the command could not read its input (exit 2, not 1)."""


def default_format() -> DiagnosticFormat:
    """GitHub annotations inside GitHub Actions, plain text elsewhere."""
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


def compile_diagnostics(loaded: LoadedSpec, source: Path) -> list[Diagnostic]:
    """What `shardplan compile` would report for a valid spec read with `source`.

    Imported at call time: the compiler proper (source readers, sharding, plan
    building) is loaded only when `--source` is given.
    """
    from shardplan_compiler.compile_spec import compile_loaded_spec

    return compile_loaded_spec(loaded, source, None).diagnostics


def exit_code_for(diagnostics: list[Diagnostic], *, strict: bool) -> int:
    if any(d.code in IO_CODES for d in diagnostics):
        return exit_codes.USAGE
    if any(d.severity == "error" or (strict and d.severity == "warning") for d in diagnostics):
        return exit_codes.INPUT_ERRORS
    return exit_codes.OK


def summary(diagnostics: list[Diagnostic], file_count: int) -> str:
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = sum(d.severity == "warning" for d in diagnostics)
    files = f"{file_count} file" + ("" if file_count == 1 else "s")
    if not errors and not warnings:
        return f"shardplan validate: {files} checked, no problems"
    flagged = len({d.path for d in diagnostics if d.severity in ("error", "warning")})
    return (
        f"shardplan validate: {errors} error"
        + ("" if errors == 1 else "s")
        + f", {warnings} warning"
        + ("" if warnings == 1 else "s")
        + f" in {flagged} of {files}"
    )


@click.command("validate")
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--source",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="Also read this source file (for every SPEC) and report what compile would.",
)
@diagnostic_format_option("Output")
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.pass_context
def validate(
    ctx: click.Context, specs: tuple[Path, ...], source: Path | None, fmt: str | None, strict: bool
) -> None:
    """Check pipeline spec files; report every problem as path:line:col."""
    chosen = FORMAT_BY_NAME[fmt] if fmt else default_format()
    diagnostics: list[Diagnostic] = []
    for path in specs:
        if source is None and certainly_clean(path):
            continue
        from shardplan_compiler.spec_loading import load_spec

        loaded = load_spec(path)
        diagnostics.extend(loaded.diagnostics)
        if source is not None and loaded.spec is not None:
            diagnostics.extend(compile_diagnostics(loaded, source))
    # One --source serves every spec: report each of its problems once.
    diagnostics = list(dict.fromkeys(diagnostics))
    output = render_diagnostics(diagnostics, chosen)
    if output:
        click.echo(output, nl=False)
    click.echo(summary(diagnostics, len(specs)), err=True)
    ctx.exit(exit_code_for(diagnostics, strict=strict))
