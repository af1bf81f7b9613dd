"""`shardplan show PLAN [--format text|json|markdown|html] [--shard KEY] [-o FILE]`.

Reviewers read this before an expensive run: per phase the strategy,
languages, shards, units, cap, lines per shard and skew; or, with `--shard`,
the lines one shard will hand to its agents. A plan whose `plan_id` does not
match its content is refused: it is not what was compiled. `--format html`
is the visual review page (DESIGN §10, `render/review_page.py`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import click

from shardplan_compiler import exit_codes
from shardplan_compiler.atomic_write import write_text_atomically
from shardplan_compiler.file_checks import unreadable_reason
from shardplan_compiler.plan_io import PlanError, load_plan
from shardplan_compiler.plan_summary import resolve_recorded, summarize_plan
from shardplan_compiler.render.diagnostics import render_diagnostics
from shardplan_compiler.render.plan_show import (
    render_shard_json,
    render_shard_markdown,
    render_shard_text,
    render_summary_json,
    render_summary_markdown,
    render_summary_text,
)
from shardplan_compiler.render.review_page import render_show_html
from shardplan_schemas.plan import Shard, ShardPlan
from shardplan_schemas.plan_structure import key_problem
from shardplan_schemas.source_formats import SourceFormatError, read_source_lines

SHOW_FORMATS = ("text", "json", "markdown", "html")


def open_plan(path: Path, command: str) -> tuple[ShardPlan | None, int]:
    """Load and verify a plan for a command; on failure print why and give the exit code."""
    why = unreadable_reason(path)
    if why is not None:
        click.echo(f"shardplan {command}: {path} {why}", err=True)
        return None, exit_codes.USAGE
    try:
        return load_plan(path), exit_codes.OK
    except PlanError as error:
        click.echo(render_diagnostics([error.diagnostic], "text"), nl=False, err=True)
        return None, exit_codes.INPUT_ERRORS


def _find_shard(plan: ShardPlan, key: str) -> Shard | None:
    for phase in plan.phases:
        for shard in phase.shards:
            if shard.key == key:
                return shard
    return None


def _show_shard(plan: ShardPlan, plan_dir: Path, key: str, fmt: str, output: Path | None) -> int:
    shard = _find_shard(plan, key)
    if shard is None:
        phase = key.partition(":")[0]
        keys = [s.key for p in plan.phases if p.phase == phase for s in p.shards][:5]
        hint = f"; keys of phase {phase} start with: {', '.join(keys)}" if keys else ""
        click.echo(f"shardplan show: no shard {key!r} in the plan{hint}", err=True)
        return exit_codes.USAGE
    source = resolve_recorded(plan_dir, plan.source.path)
    try:
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
    except OSError as error:
        click.echo(f"shardplan show: cannot read the source {source}: {error.strerror}", err=True)
        return exit_codes.USAGE
    if digest != plan.source.sha256:
        click.echo(
            f"shardplan show: the source {source.as_posix()} changed since the plan was "
            f"compiled (sha256 {digest[:12]}, the plan has {plan.source.sha256[:12]}); "
            "compile the plan again",
            err=True,
        )
        return exit_codes.INPUT_ERRORS
    try:
        all_lines = read_source_lines(source, plan.source.format)
    except SourceFormatError as error:
        click.echo(f"shardplan show: {source.as_posix()}: {error}", err=True)
        return exit_codes.INPUT_ERRORS
    problem = key_problem(plan, [line.line_id for line in all_lines])
    if problem is not None:
        click.echo(
            f"shardplan show: the plan does not match its source: {problem}; "
            "recompile the plan from its spec and source",
            err=True,
        )
        return exit_codes.INPUT_ERRORS
    lines = all_lines[shard.start : shard.end]
    render = {
        "text": render_shard_text,
        "json": render_shard_json,
        "markdown": render_shard_markdown,
    }[fmt]
    return emit(render(shard, lines), output, "show")


def emit(text: str, output: Path | None, command: str) -> int:
    """Print `text`, or write it to `output` atomically; the exit code."""
    if output is None:
        click.echo(text, nl=False)
        return exit_codes.OK
    if output.is_dir():
        click.echo(f"shardplan {command}: -o {output} is a directory; name the file", err=True)
        return exit_codes.USAGE
    try:
        write_text_atomically(output, text)
    except OSError as error:
        click.echo(f"shardplan {command}: cannot write {output}: {error.strerror}", err=True)
        return exit_codes.USAGE
    click.echo(f"shardplan {command}: wrote {output.as_posix()}", err=True)
    return exit_codes.OK


@click.command("show")
@click.argument("plan_path", metavar="PLAN", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(SHOW_FORMATS), default="text", show_default=True)
@click.option("--shard", "shard_key", metavar="KEY", help="Print this shard's source lines.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write to this file (atomically) instead of standard output.",
)
@click.pass_context
def show(
    ctx: click.Context, plan_path: Path, fmt: str, shard_key: str | None, output: Path | None
) -> None:
    """Summarize a shard plan, or print one shard's lines; `--format html` draws it."""
    if shard_key is not None and fmt == "html":
        raise click.UsageError("--shard prints lines as text, json or markdown, not html")
    plan, code = open_plan(plan_path, "show")
    if plan is None:
        ctx.exit(code)
    plan_dir = plan_path.parent if str(plan_path.parent) else Path(".")
    if shard_key is not None:
        ctx.exit(_show_shard(plan, plan_dir, shard_key, fmt, output))
    if fmt == "html":
        try:
            page = render_show_html(plan, plan_dir, plan_path)
        except PlanError as error:
            click.echo(render_diagnostics([error.diagnostic], "text"), nl=False, err=True)
            ctx.exit(exit_codes.INPUT_ERRORS)
        ctx.exit(emit(page, output, "show"))
    summary = summarize_plan(plan, plan_dir)
    render = {
        "text": render_summary_text,
        "json": render_summary_json,
        "markdown": render_summary_markdown,
    }[fmt]
    ctx.exit(emit(render(summary), output, "show"))
