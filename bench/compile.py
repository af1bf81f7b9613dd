"""`shardplan compile` of a million lines against the orjson parse floor, in two cases.

Compile must read every record, so the honest yardstick is the cheapest
possible reading of the same file: orjson on each line, in a subprocess like
the compiler. Both run alternately in one run; compile's peak memory, the
plan's size (bytes per shard, longest line) and the load average are reported
with the ratio.

The first case is what a user gets: a spec without `execution` tables, so
every phase runs on rentl's defaults (chunks of 10, one scene per context
shard: about 430,000 shards). The second keeps the configuration the
benchmark measured before (larger chunks and batches, 52,000 shards), so the
two can be compared over time.
"""

from __future__ import annotations

import os
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from bench.context import BenchContext, module_available
from bench.data import ScriptStats, write_compile_spec, write_defaults_spec, write_script
from bench.harness import (
    KIB,
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
PLAN_SIZE_TARGET_MB = 50.0
"""GitHub warns about files over 50 MB (and refuses them over 100 MB)."""
LONGEST_LINE_TARGET_KIB = 64.0
MB = 1_000_000


@dataclass(frozen=True)
class Case:
    """One spec compiled against the same script."""

    name: str
    description: str
    write_spec: Callable[[Path, str], Path]


CASES: tuple[Case, ...] = (
    Case(
        "defaults",
        "7 phases, 2 languages, no execution tables: ingest/export full, context scene "
        "batch 1, pretranslation/translate/qa/edit chunks of 10",
        write_defaults_spec,
    ),
    Case(
        "configured",
        "7 phases, 2 languages, strategies full, scene (batch 2 and 5), chunk (50, 100) and route",
        write_compile_spec,
    ),
)


@dataclass(frozen=True)
class PlanShape:
    """What a reviewer's tools see of a plan file."""

    size_bytes: int
    shards: int
    shard_lines: int
    longest_line: int


_SHARD_COUNT = re.compile(rb'"shard_count": (\d+)')


def plan_shape(path: Path) -> PlanShape:
    """Size, shard count, lines that hold a shard, and the longest line of a plan file.

    Read a line at a time and never parsed whole: this process forks every
    measured command, and a child's peak RSS counts the parent's memory from
    before `exec` (a parsed 47 MB plan would show as hundreds of MiB there).
    """
    size = shards = shard_lines = longest = 0
    with path.open("rb") as plan:
        for line in plan:
            size += len(line)
            longest = max(longest, len(line.rstrip(b"\n")))
            if line.startswith(b'{"end":'):
                shard_lines += 1
            elif b'"shard_count"' in line:
                found = _SHARD_COUNT.search(line)
                shards += int(found[1]) if found else 0
    return PlanShape(size, shards, shard_lines, longest)


def run(ctx: BenchContext) -> list[Row]:
    """Each case's ratio to the floor, peak memory, plan size and longest plan line."""
    if not module_available("shardplan_compiler.commands.compile"):
        reason = "shardplan_compiler.commands.compile does not exist yet"
        return [Row("compile", None, "×", "<=", RATIO_TARGET, details=reason)]
    stats = write_script(ctx.workdir / "script.jsonl", ctx.size.compile_lines)
    rows: list[Row] = []
    for case in CASES:
        rows.extend(run_case(ctx, case, stats))
    return rows


def run_case(ctx: BenchContext, case: Case, stats: ScriptStats) -> list[Row]:
    lines = stats.lines
    prefix = f"compile, {case.name}: {lines:,} lines"
    ratio_name = f"{prefix} / orjson floor"
    spec = case.write_spec(ctx.workdir, "script.jsonl")
    plan = ctx.workdir / f"{case.name}.plan.json"
    env = ctx.env()
    candidate = Command(
        f"shardplan compile ({case.name})",
        (ctx.tool("shardplan"), "compile", spec.name, "-o", plan.name),
        ctx.workdir,
        env,
    )
    floor = Command(
        "orjson floor", (ctx.python, "-m", "bench.orjson_floor", "script.jsonl"), ctx.workdir, env
    )
    load_before = os.getloadavg()[0]
    try:
        result = measure_paired(candidate, floor, ctx.size.compile_repeats, ctx.size.warmup)
        tree_pss = peak_tree_memory(candidate)
    except CommandFailed as failure:
        return [Row(ratio_name, None, "×", "<=", RATIO_TARGET, details=str(failure))]
    load_after = os.getloadavg()[0]
    peak_memory = max(result.candidate_peak_rss, tree_pss)
    cpu = statistics.median(sample.cpu_seconds for sample in result.candidate_samples)
    floor_cpu = statistics.median(sample.cpu_seconds for sample in result.alternative_samples)
    shape = plan_shape(plan)
    per_shard = shape.size_bytes / shape.shards if shape.shards else 0.0
    script_note = (
        f"{stats.lines:,} lines, {stats.scenes:,} scenes, {stats.routes} routes, "
        f"{stats.size_bytes / MIB:.0f} MiB JSONL; {case.description}"
    )
    load_note = f"1-minute load average {load_before:.1f} before, {load_after:.1f} after"
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
            f"two processes); {load_note}; input: {script_note}"
        ),
        extra={
            "case": case.name,
            "candidate_median_s": result.candidate_median,
            "alternative_median_s": result.alternative_median,
            "candidate_cpu_s": cpu,
            "alternative_cpu_s": floor_cpu,
            "pairs": ctx.size.compile_repeats,
            "lines": stats.lines,
            "script_bytes": stats.size_bytes,
            "load_before": round(load_before, 2),
            "load_after": round(load_after, 2),
        },
    )
    if ratio_row.met is False and ctx.size.name != "tiny":
        args = ("-m", "shardplan_compiler", "compile", spec.name, "-o", plan.name)
        notes = heaviest_functions(ctx.python, args, env, ctx.workdir, limit=15)
        ratio_row = replace(ratio_row, notes=tuple(notes))
    return [
        ratio_row,
        Row(
            f"{prefix}, peak memory",
            peak_memory / MIB,
            "MiB",
            "<=",
            PEAK_RSS_TARGET_MIB,
            details=(
                f"the larger of the biggest single process's peak RSS "
                f"({result.candidate_peak_rss / MIB:.0f} MiB, from wait4) and the whole process "
                f"tree's peak PSS sampled every 10 ms ({tree_pss / MIB:.0f} MiB; compile may fork "
                f"a worker); the orjson floor peaks at {result.alternative_peak_rss / MIB:.0f} MiB"
            ),
            extra={
                "case": case.name,
                "candidate_peak_rss_bytes": result.candidate_peak_rss,
                "candidate_tree_peak_pss_bytes": tree_pss,
            },
        ),
        Row(
            f"{prefix}, plan size",
            shape.size_bytes / MB,
            "MB",
            "<=",
            PLAN_SIZE_TARGET_MB,
            details=(
                f"{shape.size_bytes:,} bytes, {shape.shards:,} shards, {per_shard:.1f} bytes "
                f"per shard; {shape.shard_lines:,} lines hold a shard"
                + ("" if shape.shard_lines == shape.shards else " (not one shard a line!)")
            ),
            extra={
                "case": case.name,
                "plan_bytes": shape.size_bytes,
                "shards": shape.shards,
                "shard_lines": shape.shard_lines,
                "bytes_per_shard": round(per_shard, 2),
            },
        ),
        Row(
            f"{prefix}, longest plan line",
            shape.longest_line / KIB,
            "KiB",
            "<=",
            LONGEST_LINE_TARGET_KIB,
            details=f"{shape.longest_line:,} bytes",
            extra={"case": case.name, "longest_line_bytes": shape.longest_line},
        ),
    ]
