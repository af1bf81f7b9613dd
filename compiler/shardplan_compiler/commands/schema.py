"""`shardplan schema [--out DIR] [--check]`: export the JSON Schemas, or check them for drift.

The schemas in `generated/` are checked in so that editors, SchemaStore-style
catalogs and check-jsonschema can use them without installing shardplan;
`--check` is the CI gate that keeps them equal to the models.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from shardplan_compiler.exit_codes import INPUT_ERRORS, OK, USAGE

DEFAULT_OUT = Path("generated")


@click.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=True, dir_okay=True),
    default=DEFAULT_OUT,
    show_default=True,
    help="Directory of the schema files.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 when a file in DIR is missing or differs from the models.",
)
def schema(out_dir: Path, check: bool) -> None:
    """Export the JSON Schemas of the spec, source lines, plan and events."""
    from shardplan_compiler.schema_export import exported_schemas

    if out_dir.exists() and not out_dir.is_dir():
        click.echo(f"shardplan schema: {out_dir} is not a directory", err=True)
        sys.exit(USAGE)
    expected = list(exported_schemas())
    if check:
        sys.exit(_check(out_dir, expected))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for filename, data in expected:
            target = out_dir / filename
            if target.is_file() and target.read_bytes() == data:
                click.echo(f"unchanged {target.as_posix()}")
                continue
            target.write_bytes(data)
            click.echo(f"wrote {target.as_posix()}")
    except OSError as error:
        click.echo(f"shardplan schema: cannot write to {out_dir}: {error.strerror}", err=True)
        sys.exit(USAGE)
    sys.exit(OK)


def _check(out_dir: Path, expected: list[tuple[str, bytes]]) -> int:
    stale: list[str] = []
    for filename, data in expected:
        target = out_dir / filename
        try:
            actual = target.read_bytes()
        except FileNotFoundError:
            stale.append(f"{target.as_posix()}: missing")
            continue
        except OSError as error:
            stale.append(f"{target.as_posix()}: unreadable ({error.strerror})")
            continue
        if actual != data:
            stale.append(f"{target.as_posix()}: differs from the models")
    if not stale:
        click.echo(f"{out_dir.as_posix()}: {len(expected)} schemas up to date")
        return OK
    for line in stale:
        click.echo(line, err=True)
    click.echo(
        "The exported schemas are stale: run `shardplan schema"
        + ("" if out_dir == DEFAULT_OUT else f" --out {out_dir.as_posix()}")
        + "` (or `make schema`) and commit the result.",
        err=True,
    )
    return INPUT_ERRORS
