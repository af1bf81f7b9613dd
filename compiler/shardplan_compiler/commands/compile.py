"""`shardplan compile SPEC [--source FILE] [-o PLAN]` and `shardplan compile --check PLAN…`.

Compile writes the plan (to PLAN atomically, or to standard output) and
prints per phase its strategy, shards, units and cap on standard error: the
shard plan made visible before anything runs. `--check` recompiles each plan
from the spec and source it records and fails when the bytes differ, so a
pull request that changes a spec or the script also carries the plan's diff.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

import click

from shardplan_compiler import exit_codes
from shardplan_compiler.atomic_write import write_atomically as write_file_atomically
from shardplan_compiler.commands.options import diagnostic_format_option
from shardplan_compiler.commands.validate import IO_CODES, default_format
from shardplan_compiler.compile_spec import CompileResult, PhaseSummary, compile_loaded_spec
from shardplan_compiler.file_checks import unreadable_reason
from shardplan_compiler.plan_diff import diff_plans
from shardplan_compiler.plan_io import PlanError, parse_plan, read_plan_bytes
from shardplan_compiler.plan_summary import resolve_recorded
from shardplan_compiler.render.diagnostics import (
    FORMAT_BY_NAME,
    DiagnosticFormat,
    render_diagnostics,
)
from shardplan_compiler.spec_loading import load_spec
from shardplan_schemas.diagnostics import Diagnostic

WORKERS = 1
"""Processes that render a plan's shard lines. One: a forked renderer touches (and so
copies) most of the parent's pages, which on a million-line script took the process
tree from ~200 to ~275 MiB, over the 250 MiB budget, to save ~0.2 s."""


def summary_text(summaries: list[PhaseSummary]) -> str:
    """One line per phase: strategy, shards, units, cap."""
    rows = [["phase", "strategy", "shards", "units", "cap"]]
    for item in summaries:
        if item.enabled:
            rows.append(
                [item.phase, item.strategy, str(item.shards), str(item.units), str(item.cap)]
            )
        else:
            rows.append([item.phase, item.strategy, "disabled", "-", str(item.cap)])
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join(
        "  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in rows
    )


def write_atomically(result: CompileResult, target: Path) -> str:
    """Write the plan next to `target` and rename it into place: readers never see half a plan."""
    return write_file_atomically(target, lambda handle: result.write(handle, WORKERS))


def _emit(diagnostics: list[Diagnostic], fmt: DiagnosticFormat, *, err: bool) -> None:
    output = render_diagnostics(diagnostics, fmt)
    if output:
        click.echo(output, nl=False, err=err)


def _has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)


def _compile_one(
    spec: Path, source: Path | None, output: Path | None, fmt: DiagnosticFormat
) -> int:
    why = unreadable_reason(spec)
    if why is not None:
        click.echo(f"shardplan compile: {spec} {why}", err=True)
        return exit_codes.USAGE
    if output is not None and output.is_dir():
        click.echo(f"shardplan compile: -o {output} is a directory; name the plan file", err=True)
        return exit_codes.USAGE
    loaded = load_spec(spec)
    plan_dir = (output.parent if str(output.parent) else Path(".")) if output else None
    result = compile_loaded_spec(loaded, source, plan_dir)
    diagnostics = [*loaded.diagnostics, *result.diagnostics]
    # With the plan on standard output, diagnostics go to standard error.
    _emit(diagnostics, fmt, err=output is None)
    if _has_errors(diagnostics) or not result.ok:
        click.echo(f"shardplan compile: {spec}: no plan written (errors above)", err=True)
        if any(d.code in IO_CODES for d in diagnostics):
            return exit_codes.USAGE  # as validate: the spec could not be read at all
        return exit_codes.INPUT_ERRORS
    if output is None:
        stdout: BinaryIO = sys.stdout.buffer
        plan_id = result.write(stdout, WORKERS)
        stdout.flush()
        where = "standard output"
    else:
        try:
            plan_id = write_atomically(result, output)
        except OSError as error:
            click.echo(f"shardplan compile: cannot write {output}: {error.strerror}", err=True)
            return exit_codes.USAGE
        where = output.as_posix()
    click.echo(f"shardplan compile: {spec.as_posix()} -> {where} ({plan_id})", err=True)
    click.echo(summary_text(result.summaries), err=True)
    return exit_codes.OK


def check_plan(path: Path) -> tuple[int, list[Diagnostic], str]:
    """Recompile one plan from what it records; (exit code, diagnostics, summary)."""
    why = unreadable_reason(path)
    if why is not None:
        return exit_codes.USAGE, [], f"{path}: {why}"
    try:
        old_bytes = read_plan_bytes(path)
        old = parse_plan(old_bytes, path)
    except PlanError as error:
        return exit_codes.INPUT_ERRORS, [error.diagnostic], ""
    plan_dir = path.parent if str(path.parent) else Path(".")
    spec_path = resolve_recorded(plan_dir, old.spec.path)
    source_path = resolve_recorded(plan_dir, old.source.path)
    loaded = load_spec(spec_path)
    result = compile_loaded_spec(loaded, source_path, plan_dir)
    found = [*loaded.diagnostics, *result.diagnostics]
    if _has_errors(found) or not result.ok:
        message = f"cannot recompile the plan: {spec_path.as_posix()} has errors (above)"
        return exit_codes.INPUT_ERRORS, [*found, _stale(path, message, "/spec")], ""
    new_bytes = result.to_bytes()
    if new_bytes == old_bytes:
        return exit_codes.OK, [], f"{path.as_posix()}: up to date"
    new = parse_plan(new_bytes, path)
    diff = diff_plans(old, new)
    _, changed, added, removed = diff.totals()
    parts = [f"{changed} shard(s) changed, {added} added, {removed} removed"]
    parts += [
        f"{change.field} changed" for change in diff.changes if change.field != "generator.version"
    ]
    parts += [
        f"{phase.phase}: {', '.join(change.field for change in phase.config)} changed"
        for phase in diff.phases
        if phase.config
    ]
    if not diff.differs:
        parts = ["same content, different layout"]
    message = (
        "the plan is stale: recompiling its spec and source gives different bytes ("
        + "; ".join(parts)
        + f"); run: shardplan compile {spec_path.as_posix()} -o {path.as_posix()}"
    )
    return exit_codes.INPUT_ERRORS, [_stale(path, message, "")], ""


def _stale(plan: Path, message: str, pointer: str) -> Diagnostic:
    """SP605 on a committed plan: it is not what its spec and source compile to."""
    return Diagnostic(
        path=plan.as_posix(),
        line=1,
        column=1,
        severity="error",
        code="SP605",
        message=message,
        pointer=pointer,
    )


@click.command("compile")
@click.argument("paths", nargs=-1, metavar="SPEC | --check PLAN…", type=click.Path(path_type=Path))
@click.option(
    "--source",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read this source file instead of the spec's source.path.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write the plan here (atomically); default: standard output.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Recompile each PLAN from the spec and source it records; exit 1 when any is stale.",
)
@diagnostic_format_option()
@click.pass_context
def compile_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    source: Path | None,
    output: Path | None,
    check: bool,
    fmt: str | None,
) -> None:
    """Compile a spec and its source lines into a shard plan."""
    chosen = FORMAT_BY_NAME[fmt] if fmt else default_format()
    if check:
        if not paths:
            raise click.UsageError("--check needs at least one PLAN")
        if source is not None or output is not None:
            raise click.UsageError("--check takes plans only (no --source, no -o)")
        worst = exit_codes.OK
        diagnostics: list[Diagnostic] = []
        for path in paths:
            code, found, note = check_plan(path)
            diagnostics.extend(found)
            if note:
                click.echo(f"shardplan compile --check: {note}", err=True)
            worst = max(worst, code)
        _emit(diagnostics, chosen, err=False)
        ctx.exit(worst)
    if len(paths) != 1:
        raise click.UsageError("compile takes exactly one SPEC (or --check PLAN…)")
    try:
        code = _compile_one(paths[0], source, output, chosen)
    except BrokenPipeError:  # e.g. `shardplan compile spec | head`
        sys.stderr.close()
        code = exit_codes.OK
    ctx.exit(code)
