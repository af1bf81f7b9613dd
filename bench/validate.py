"""`shardplan validate` against check-jsonschema with our exported schema.

Two situations matter to users: CI validating every spec of a repository in
one invocation (throughput), and pre-commit or an editor validating one spec
in a fresh process (start-up). Both tools get the same files in the same run.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from bench.context import BenchContext, module_available
from bench.data import write_specs
from bench.harness import MIB, Command, CommandFailed, Row, measure_paired, spread_of
from bench.profiling import heaviest_functions, heaviest_imports, interpreter_startup_ms

MANY_TARGET = 0.2
SINGLE_TARGET = 0.6


def schema_path(ctx: BenchContext) -> tuple[Path, str]:
    """The checked-in schema, or (before it lands) one exported from the model at run time."""
    checked_in = ctx.repo / "generated" / "pipeline-spec.schema.json"
    if checked_in.is_file():
        return checked_in, "generated/pipeline-spec.schema.json"
    from shardplan_schemas.spec import PipelineSpec

    exported = ctx.workdir / "pipeline-spec.schema.json"
    exported.write_text(json.dumps(PipelineSpec.model_json_schema(), indent=2), encoding="utf-8")
    return exported, "the PipelineSpec model's JSON Schema (generated/ not present yet)"


def run(ctx: BenchContext) -> list[Row]:
    """Both comparisons; rows are marked not run when `shardplan validate` is missing."""
    count = ctx.size.spec_count
    many_name = f"validate: {count} specs, one process"
    single_name = "validate: one spec, fresh process"
    if not module_available("shardplan_compiler.commands.validate"):
        reason = "shardplan_compiler.commands.validate does not exist yet"
        return [
            Row(many_name, None, "×", "<=", MANY_TARGET, details=reason),
            Row(single_name, None, "×", "<=", SINGLE_TARGET, details=reason),
        ]
    specs = write_specs(ctx.workdir / "specs", count)
    schema, schema_note = schema_path(ctx)
    env = ctx.env()
    names = tuple(str(path.relative_to(ctx.workdir)) for path in specs)

    def pair(files: tuple[str, ...]) -> tuple[Command, Command]:
        return (
            Command("shardplan", (ctx.tool("shardplan"), "validate", *files), ctx.workdir, env),
            Command(
                "check-jsonschema",
                (ctx.tool("check-jsonschema"), "--schemafile", str(schema), *files),
                ctx.workdir,
                env,
            ),
        )

    rows: list[Row] = []
    for name, files, repeats, target in (
        (many_name, names, ctx.size.validate_repeats, MANY_TARGET),
        (single_name, names[len(names) // 2 : len(names) // 2 + 1], ctx.size.single_spec_repeats,
         SINGLE_TARGET),
    ):  # fmt: skip
        candidate, alternative = pair(files)
        try:
            result = measure_paired(candidate, alternative, repeats, ctx.size.warmup)
        except CommandFailed as failure:
            rows.append(Row(name, None, "×", "<=", target, details=str(failure).splitlines()[0]))
            continue
        row = Row(
            name,
            result.ratio,
            "×",
            "<=",
            target,
            spread=spread_of(result.pair_ratios),
            details=(
                f"shardplan {result.candidate_median * 1000:.0f} ms vs check-jsonschema "
                f"{result.alternative_median * 1000:.0f} ms (medians of {repeats} interleaved "
                f"pairs; schema: {schema_note}); peak RSS {result.candidate_peak_rss / MIB:.0f} "
                f"vs {result.alternative_peak_rss / MIB:.0f} MiB"
            ),
            extra={
                "candidate_median_s": result.candidate_median,
                "alternative_median_s": result.alternative_median,
                "candidate_peak_rss_bytes": result.candidate_peak_rss,
                "alternative_peak_rss_bytes": result.alternative_peak_rss,
                "pairs": repeats,
                "files": len(files),
            },
        )
        if row.met is False and ctx.size.name != "tiny":
            args = ("-m", "shardplan_compiler", "validate", *files)
            startup = interpreter_startup_ms(ctx.python)
            notes = [f"python -c pass alone takes {startup:.0f} ms"]
            notes += heaviest_imports(ctx.python, args, env, ctx.workdir)
            if len(files) > 1:
                notes += heaviest_functions(ctx.python, args, env, ctx.workdir)
            row = replace(row, notes=tuple(notes))
        rows.append(row)
    return rows
