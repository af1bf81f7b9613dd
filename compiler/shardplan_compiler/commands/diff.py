"""`shardplan diff OLD NEW [--format text|json|markdown|html] [--exit-code] [-o FILE]`.

Per phase the diff counts the unchanged shards and lists the dirty ones with
why they are dirty (DESIGN §8), with every change of execution, agents and
languages, and of the spec and source the plans were made from. Reasons name
lines when both plans' sources are readable and match the sha256 the plans
recorded; otherwise they say the content changed. It exits 0 whether or not
the plans differ unless `--exit-code` is given.
"""

from __future__ import annotations

from pathlib import Path

import click

from shardplan_compiler import exit_codes
from shardplan_compiler.commands.show import emit, open_plan
from shardplan_compiler.diff_sources import ScriptLines, read_script, read_table
from shardplan_compiler.file_checks import unreadable_reason
from shardplan_compiler.plan_diff import diff_plans
from shardplan_compiler.plan_io import PlanError
from shardplan_compiler.plan_summary import resolve_recorded
from shardplan_compiler.render.diagnostics import render_diagnostics
from shardplan_compiler.render.plan_diff import (
    render_diff_json,
    render_diff_markdown,
    render_diff_text,
)
from shardplan_compiler.render.review_page import render_diff_html
from shardplan_compiler.sources import SourceTable
from shardplan_schemas.diagnostics import Diagnostic
from shardplan_schemas.plan import ShardPlan
from shardplan_schemas.plan_structure import key_problem

DIFF_FORMATS = ("text", "json", "markdown", "html")


def matching_source(plan: ShardPlan, plan_path: Path) -> SourceTable | None:
    """The plan's source as the compiler reads it, when it is a readable file that matches the plan."""
    found = _matching(plan, plan_path, light=False)
    return found if isinstance(found, SourceTable) else None


def matching_scripts(
    old: ShardPlan, old_path: Path, new: ShardPlan, new_path: Path
) -> tuple[SourceTable | ScriptLines, SourceTable | ScriptLines] | None:
    """Both plans' sources, read the same way, when both are at hand and match; else None.

    Read lightly where they can be (diff_sources); when one of the two cannot,
    both are read by the compiler's reader, so that their lines compare.
    """
    old_script = _matching(old, old_path, light=True)
    if old_script is None:
        return None
    new_script = _matching(new, new_path, light=True)
    if new_script is None:
        return None
    if isinstance(old_script, SourceTable) != isinstance(new_script, SourceTable):
        old_table, new_table = matching_source(old, old_path), matching_source(new, new_path)
        return None if old_table is None or new_table is None else (old_table, new_table)
    return old_script, new_script


def _matching(plan: ShardPlan, plan_path: Path, light: bool) -> SourceTable | ScriptLines | None:
    """The plan's source, when it is a readable file that matches the plan; else None.

    A source whose sha256 matches but whose line ids do not fit the plan's
    keys means a forged plan: that is refused (SP606) rather than ignored.
    """
    plan_dir = plan_path.parent if str(plan_path.parent) else Path(".")
    path = resolve_recorded(plan_dir, plan.source.path)
    if unreadable_reason(path) is not None:
        return None
    read = read_script if light else read_table
    found = read(path, plan.source.format, plan.source.sha256)
    if found is None:
        return None
    problem = key_problem(plan, found.line_ids)
    if problem is not None:
        raise PlanError(
            Diagnostic(
                path=plan_path.as_posix(),
                line=1,
                column=1,
                severity="error",
                code="SP606",
                message=f"the plan does not match its source {path.as_posix()}: {problem}; "
                "recompile the plan from its spec and source",
                pointer="",
            )
        )
    return found


@click.command("diff")
@click.argument("old_path", metavar="OLD", type=click.Path(path_type=Path))
@click.argument("new_path", metavar="NEW", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(DIFF_FORMATS), default="text", show_default=True)
@click.option("--exit-code", is_flag=True, help="Exit 1 when the plans differ.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write to this file (atomically) instead of standard output.",
)
@click.pass_context
def diff(
    ctx: click.Context,
    old_path: Path,
    new_path: Path,
    fmt: str,
    exit_code: bool,
    output: Path | None,
) -> None:
    """Compare two shard plans shard by shard."""
    old, code = open_plan(old_path, "diff")
    if old is None:
        ctx.exit(code)
    new, code = open_plan(new_path, "diff")
    if new is None:
        ctx.exit(code)
    tables: tuple[SourceTable | None, SourceTable | None] = (None, None)
    scripts: tuple[SourceTable | ScriptLines, SourceTable | ScriptLines] | None
    try:
        if fmt == "html":  # the page draws scenes and routes: it needs the compiler's reading
            old_table = matching_source(old, old_path)
            new_table = matching_source(new, new_path) if old_table is not None else None
            tables = (old_table, new_table)
            scripts = None if old_table is None or new_table is None else (old_table, new_table)
        else:
            scripts = matching_scripts(old, old_path, new, new_path)
    except PlanError as error:
        click.echo(render_diagnostics([error.diagnostic], "text"), nl=False, err=True)
        ctx.exit(exit_codes.INPUT_ERRORS)
    result = diff_plans(old, new, *(scripts or (None, None)))
    if fmt == "html":
        try:
            text = render_diff_html(
                old,
                new,
                result,
                _directory(old_path),
                _directory(new_path),
                tables,
            )
        except PlanError as error:
            click.echo(render_diagnostics([error.diagnostic], "text"), nl=False, err=True)
            ctx.exit(exit_codes.INPUT_ERRORS)
    elif fmt == "json":
        text = render_diff_json(result)
    elif fmt == "markdown":
        line_count = max(old.source.line_count, new.source.line_count)
        text = render_diff_markdown(result, old_path.as_posix(), new_path.as_posix(), line_count)
    else:
        text = render_diff_text(result, old_path.as_posix(), new_path.as_posix())
    code = emit(text, output, "diff")
    if code != exit_codes.OK:
        ctx.exit(code)
    ctx.exit(exit_codes.INPUT_ERRORS if exit_code and result.differs else exit_codes.OK)


def _directory(plan_path: Path) -> Path:
    return plan_path.parent if str(plan_path.parent) else Path(".")
