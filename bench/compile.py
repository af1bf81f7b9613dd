"""`shardplan compile` of a million lines against the orjson parse floor.

Compile must read every record, so the honest yardstick is the cheapest
possible reading of the same file: orjson on each line, in a subprocess like
the compiler. Both run alternately in one run; compile's own peak RSS and the
plan's size are reported with the ratio.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import replace

from bench.context import BenchContext, module_available
from bench.data import write_compile_spec, write_script
from bench.harness import (
    MIB,
    Command,
    CommandFailed,
    Row,
    measure_paired,
    peak_tree_memory,
    spread_of,
)
from bench.profiling import heaviest_functions

RATIO_TARGET = 3.0
PEAK_RSS_TARGET_MIB = 250.0


def run(ctx: BenchContext) -> list[Row]:
    """The ratio to the floor, compile's peak RSS, and the plan size."""
    lines = ctx.size.compile_lines
    ratio_name = f"compile: {lines:,} lines / orjson floor"
    rss_name = f"compile: {lines:,} lines, peak RSS"
    size_name = f"compile: {lines:,} lines, plan size"
    if not module_available("shardplan_compiler.commands.compile"):
        reason = "shardplan_compiler.commands.compile does not exist yet"
        return [
            Row(ratio_name, None, "×", "<=", RATIO_TARGET, details=reason),
            Row(rss_name, None, "MiB", "<=", PEAK_RSS_TARGET_MIB, details=reason),
        ]
    stats = write_script(ctx.workdir / "script.jsonl", lines)
    spec = write_compile_spec(ctx.workdir, "script.jsonl")
    plan = ctx.workdir / "plan.json"
    env = ctx.env()
    candidate = Command(
        "shardplan compile",
        (ctx.tool("shardplan"), "compile", spec.name, "-o", plan.name),
        ctx.workdir,
        env,
    )
    floor = Command(
        "orjson floor", (ctx.python, "-m", "bench.orjson_floor", "script.jsonl"), ctx.workdir, env
    )
    try:
        result = measure_paired(candidate, floor, ctx.size.compile_repeats, ctx.size.warmup)
    except CommandFailed as failure:
        return [Row(ratio_name, None, "×", "<=", RATIO_TARGET, details=str(failure))]
    try:
        tree_pss = peak_tree_memory(candidate)
    except CommandFailed as failure:
        return [Row(ratio_name, None, "×", "<=", RATIO_TARGET, details=str(failure))]
    peak_memory = max(result.candidate_peak_rss, tree_pss)
    cpu = statistics.median(sample.cpu_seconds for sample in result.candidate_samples)
    floor_cpu = statistics.median(sample.cpu_seconds for sample in result.alternative_samples)
    plan_bytes = plan.stat().st_size
    phases = json.loads(plan.read_bytes())["phases"]
    shard_lines = sum(int(phase["shard_count"]) for phase in phases)
    script_note = (
        f"{stats.lines:,} lines, {stats.scenes:,} scenes, {stats.routes} routes, "
        f"{stats.size_bytes / MIB:.0f} MiB JSONL; 7 phases, 2 languages, strategies full, "
        "scene, chunk, route"
    )
    ratio_row = Row(
        ratio_name,
        result.ratio,
        "×",
        "<=",
        RATIO_TARGET,
        spread=spread_of(result.pair_ratios),
        details=(
            f"compile {result.candidate_median:.2f} s vs orjson floor "
            f"{result.alternative_median:.2f} s (medians of {ctx.size.compile_repeats} "
            f"interleaved pairs); CPU time {cpu:.2f} s vs {floor_cpu:.2f} s (compile may use "
            f"several processes); input: {script_note}"
        ),
        extra={
            "candidate_median_s": result.candidate_median,
            "alternative_median_s": result.alternative_median,
            "pairs": ctx.size.compile_repeats,
            "lines": stats.lines,
            "script_bytes": stats.size_bytes,
        },
    )
    if ratio_row.met is False and ctx.size.name != "tiny":
        args = ("-m", "shardplan_compiler", "compile", spec.name, "-o", plan.name)
        notes = heaviest_functions(ctx.python, args, env, ctx.workdir, limit=15)
        ratio_row = replace(ratio_row, notes=tuple(notes))
    return [
        ratio_row,
        Row(
            rss_name,
            peak_memory / MIB,
            "MiB",
            "<=",
            PEAK_RSS_TARGET_MIB,
            details=(
                f"the larger of the biggest single process's peak RSS "
                f"({result.candidate_peak_rss / MIB:.0f} MiB, from wait4) and the whole process "
                f"tree's peak PSS sampled every 10 ms ({tree_pss / MIB:.0f} MiB; compile may fork "
                f"workers); the orjson floor peaks at {result.alternative_peak_rss / MIB:.0f} MiB"
            ),
            extra={
                "candidate_peak_rss_bytes": result.candidate_peak_rss,
                "candidate_tree_peak_pss_bytes": tree_pss,
            },
        ),
        Row(
            size_name,
            plan_bytes / MIB,
            "MiB",
            details=f"{plan_bytes:,} bytes, {shard_lines:,} shards (one line each)",
            extra={"plan_bytes": plan_bytes, "shards": shard_lines},
        ),
    ]
