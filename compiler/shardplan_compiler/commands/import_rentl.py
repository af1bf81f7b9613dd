"""`shardplan import rentl CONFIG [-o SPEC] [--force] [--schema FILE] [--format …]`.

Writes the spec (to SPEC atomically, or to standard output) and reports
what rentl would refuse or silently get wrong at `rentl.toml:line:col`, in
the formats of `validate`. An existing SPEC with other content is replaced
only with `--force`: a spec edited by hand after an import is not lost to a
second import.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from shardplan_compiler import exit_codes
from shardplan_compiler.atomic_write import write_atomically
from shardplan_compiler.commands.options import diagnostic_format_option
from shardplan_compiler.commands.validate import default_format
from shardplan_compiler.file_checks import unreadable_reason
from shardplan_compiler.relative_paths import relative_path
from shardplan_compiler.render.diagnostics import (
    FORMAT_BY_NAME,
    render_diagnostics,
)
from shardplan_compiler.rentl.importer import SCHEMA_URL, import_rentl


def reimport_command(config: str, output: Path | None, schema: str | None) -> str:
    """The command the spec's header names, run from the spec's directory."""
    parts = ["shardplan import rentl", config]
    if output is not None:
        parts += ["-o", output.name, "--force"]
    if schema is not None:
        parts += ["--schema", schema]
    return " ".join(parts)


def _existing_differs(output: Path, text: bytes) -> bool | None:
    """None when `output` does not exist; else whether its bytes differ from `text`."""
    if not output.exists() and not output.is_symlink():
        return None
    if unreadable_reason(output) is not None:
        return True
    try:
        return output.read_bytes() != text
    except OSError:
        return True


@click.group("import")
def import_group() -> None:
    """Import another tool's pipeline config as a shardplan spec."""


@import_group.command("rentl")
@click.argument("config", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write the spec here (atomically); default: standard output.",
)
@click.option("--force", is_flag=True, help="Replace SPEC even when it holds something else.")
@click.option(
    "--schema",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Point the spec's modeline at this local copy of pipeline-spec.schema.json "
    f"[default: {SCHEMA_URL}].",
)
@diagnostic_format_option()
@click.pass_context
def import_rentl_command(
    ctx: click.Context,
    config: Path,
    output: Path | None,
    force: bool,
    schema: Path | None,
    fmt: str | None,
) -> None:
    """Write the spec equivalent to a rentl project's rentl.toml (rentl 0.1.8)."""
    chosen = FORMAT_BY_NAME[fmt] if fmt else default_format()
    if output is not None and output.is_dir():
        click.echo(f"shardplan import: -o {output} is a directory; name the spec file", err=True)
        ctx.exit(exit_codes.USAGE)
    spec_dir = (output.parent if str(output.parent) else Path(".")) if output else Path(".")
    schema_ref = relative_path(schema, spec_dir) if schema is not None else SCHEMA_URL
    command = reimport_command(
        relative_path(config, spec_dir), output, schema_ref if schema is not None else None
    )
    result = import_rentl(config, spec_dir, schema_ref, command)
    rendered = render_diagnostics(result.diagnostics, chosen)
    if rendered:
        click.echo(rendered, nl=False, err=output is None)
    if result.spec_text is None or result.exit_code != exit_codes.OK:
        click.echo(f"shardplan import: {config}: no spec written (errors above)", err=True)
        ctx.exit(result.exit_code)
    data = result.spec_text.encode("utf-8")
    if output is None:
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        except BrokenPipeError:  # e.g. `shardplan import rentl rentl.toml | head`
            sys.stderr.close()
        ctx.exit(exit_codes.OK)
    differs = _existing_differs(output, data)
    if differs is False:
        click.echo(f"shardplan import: {output.as_posix()} is up to date", err=True)
        ctx.exit(exit_codes.OK)
    if differs and not force:
        click.echo(
            f"shardplan import: {output.as_posix()} exists with other content; "
            "pass --force to replace it",
            err=True,
        )
        ctx.exit(exit_codes.USAGE)
    try:
        write_atomically(output, lambda handle: handle.write(data))
    except OSError as error:
        click.echo(f"shardplan import: cannot write {output}: {error.strerror}", err=True)
        ctx.exit(exit_codes.USAGE)
    click.echo(f"shardplan import: {config.as_posix()} -> {output.as_posix()}", err=True)
    ctx.exit(exit_codes.OK)
