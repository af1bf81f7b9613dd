"""`shardplan diff OLD NEW [--format text|json|markdown] [--exit-code]`.

Shards are matched by key; per phase the diff counts the unchanged ones and
lists the changed, added and removed keys, with every change of execution,
agents and languages, and of the spec and source the plans were made from.
It exits 0 whether or not the plans differ unless `--exit-code` is given.
"""

from __future__ import annotations

from pathlib import Path

import click

from shardplan_compiler import exit_codes
from shardplan_compiler.commands.show import open_plan
from shardplan_compiler.plan_diff import diff_plans
from shardplan_compiler.render.plan_diff import (
    render_diff_json,
    render_diff_markdown,
    render_diff_text,
)

DIFF_FORMATS = ("text", "json", "markdown")


@click.command("diff")
@click.argument("old_path", metavar="OLD", type=click.Path(path_type=Path))
@click.argument("new_path", metavar="NEW", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(DIFF_FORMATS), default="text", show_default=True)
@click.option("--exit-code", is_flag=True, help="Exit 1 when the plans differ.")
@click.pass_context
def diff(ctx: click.Context, old_path: Path, new_path: Path, fmt: str, exit_code: bool) -> None:
    """Compare two shard plans shard by shard."""
    old, code = open_plan(old_path, "diff")
    if old is None:
        ctx.exit(code)
    new, code = open_plan(new_path, "diff")
    if new is None:
        ctx.exit(code)
    result = diff_plans(old, new)
    if fmt == "json":
        output = render_diff_json(result)
    elif fmt == "markdown":
        output = render_diff_markdown(result, old_path.as_posix(), new_path.as_posix())
    else:
        output = render_diff_text(result, old_path.as_posix(), new_path.as_posix())
    click.echo(output, nl=False)
    ctx.exit(exit_codes.INPUT_ERRORS if exit_code and result.differs else exit_codes.OK)
