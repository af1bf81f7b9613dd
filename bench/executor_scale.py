"""The executor at scale (issue 14): the defaults plan over 100k, 300k and 1M lines.

Every phase on rentl's defaults, two languages (about 730,000 units at a
million lines), with a handler that returns one small record per line, as any
real phase does. Each figure is a whole `shardplan run` process, from start to
exit: units/s, peak RSS (the process's own `ru_maxrss`), then the same
command again, which resumes the finished run and has nothing left to do,
against the orjson parse floor of the source (`bench/orjson_floor.py`). The
curve over the sizes shows whether time grows linearly and memory stays flat;
the no-record handler runs the largest size as a second case.

Beside each run, `bench.handler_floor` times the handler's own work over the
same units with no executor at all (parse each unit's lines, build its
`SourceLine`s, call the handler, encode and hash its records): the units/s
no executor can pass with this handler, so the run is also reported as a
multiple of it.

The run directory is under the benchmark's work directory, so say where it
ran (`--workdir`): outputs are append-only segments (one file per phase and
language), but the journal and segments are still fsynced in group-commit
rounds, which a loaded VM's disk makes slower than tmpfs.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from bench.context import BenchContext, module_available
from bench.data import write_defaults_spec, write_script
from bench.harness import MIB, Command, CommandFailed, Row, Sample, run_once

UNITS_PER_SECOND_TARGET = 10_000.0
RESUME_FLOOR_RATIO_TARGET = 5.0
PEAK_RSS_TARGET_MIB = 512.0
RECORD_HANDLER = "bench.noop_handler:one_record"
NO_RECORD_HANDLER = "bench.noop_handler:noop"


def _prepare(ctx: BenchContext, lines: int) -> Path:
    directory = ctx.workdir / f"scale-{lines}"
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "script.jsonl"
    if not script.exists():
        write_script(script, lines)
    spec = write_defaults_spec(directory, script.name)
    plan = directory / "plan.json"
    if not plan.exists():
        run_once(
            Command(
                "shardplan compile",
                (ctx.tool("shardplan"), "compile", spec.name, "-o", plan.name),
                directory,
                ctx.env(),
            )
        )
    return plan


def _run(ctx: BenchContext, plan: Path, handler: str, out: str) -> Sample:
    argv = (ctx.tool("shardplan"), "run", plan.name, "--handler", handler, "--out", out, "--quiet")
    return run_once(Command(f"shardplan run {handler}", argv, plan.parent, ctx.env()))


def _units(run_dir: Path) -> tuple[int, int]:
    """(units run, units resumed) of the last `run_completed` event."""
    completed = resumed = 0
    with (run_dir / "events.jsonl").open(encoding="utf-8") as events:
        for line in events:
            event = json.loads(line)
            if event.get("event") == "run_completed":
                completed, resumed = int(event["completed"]), int(event["resumed"])
    return completed, resumed


def _floor(ctx: BenchContext, plan: Path) -> Sample:
    floor = ctx.repo / "bench" / "orjson_floor.py"
    argv = (ctx.python, str(floor), str(plan.parent / "script.jsonl"))
    return run_once(Command("orjson floor", argv, plan.parent, ctx.env()))


def _handler_floor(ctx: BenchContext, plan: Path, handler: str) -> float:
    """Seconds the handler's own work takes over every unit, without an executor."""
    output = plan.parent / "handler-floor.txt"
    argv = (ctx.python, "-m", "bench.handler_floor", plan.name, "script.jsonl", handler)
    run_once(Command("handler floor", argv, plan.parent, ctx.env(), stdout_path=output))
    return float(output.read_text(encoding="utf-8").split()[1])


def measure(ctx: BenchContext, lines: int, handler: str) -> dict[str, float]:
    """One fresh run, then its resume and the floor, at `lines` lines."""
    plan = _prepare(ctx, lines)
    out = "run-records" if handler == RECORD_HANDLER else "run-none"
    shutil.rmtree(plan.parent / out, ignore_errors=True)
    fresh = _run(ctx, plan, handler, out)
    units, _ = _units(plan.parent / out)
    resume = _run(ctx, plan, handler, out)
    _, resumed = _units(plan.parent / out)
    floor = _floor(ctx, plan)
    figures: dict[str, float] = {}
    if handler == RECORD_HANDLER:  # the no-record handler reads no lines: no floor to speak of
        handler_floor = _handler_floor(ctx, plan, handler)
        figures = {
            "handler_floor_s": handler_floor,
            "handler_ceiling_units_per_s": units / handler_floor,
            "run_over_handler_floor": fresh.seconds / handler_floor,
        }
    shutil.rmtree(plan.parent / out, ignore_errors=True)
    return {
        **figures,
        "lines": lines,
        "units": units,
        "resumed": resumed,
        "run_s": fresh.seconds,
        "units_per_s": units / fresh.seconds,
        "peak_rss_mib": fresh.peak_rss_bytes / MIB,
        "resume_s": resume.seconds,
        "resume_peak_rss_mib": resume.peak_rss_bytes / MIB,
        "floor_s": floor.seconds,
        "resume_floor_ratio": resume.seconds / floor.seconds,
        "load_average": os.getloadavg()[0],
    }


def run(ctx: BenchContext) -> list[Row]:
    """The curve with records, then the largest size without records."""
    sizes = ctx.size.scale_lines
    if not sizes or not module_available("shardplan_executor.record_index"):
        return [Row("executor at scale", None, "units/s", details="not available")]
    rows: list[Row] = []
    try:
        figures = [measure(ctx, lines, RECORD_HANDLER) for lines in sizes]
        none = measure(ctx, sizes[-1], NO_RECORD_HANDLER)
    except (CommandFailed, OSError, RuntimeError) as failure:
        return [Row("executor at scale", None, "units/s", details=str(failure))]
    top = figures[-1]
    label = f"{int(top['lines']):,} lines, defaults plan, {int(top['units']):,} units"
    curve = "; ".join(
        f"{int(f['lines']):,} lines: {f['run_s']:.1f} s, {f['units_per_s']:,.0f} units/s, "
        f"{f['peak_rss_mib']:.0f} MiB, resume {f['resume_s']:.1f} s"
        for f in figures
    )
    first = figures[0]
    growth = (top["run_s"] / first["run_s"]) / (top["lines"] / first["lines"])
    notes = (
        f"curve (one record per line): {curve}; time per line at the largest size is "
        f"{growth:.2f}x that at the smallest (1.00 = linear)",
    )
    rows.append(
        Row(
            f"executor at scale: whole run, {label}, one record a line",
            top["units_per_s"],
            "units/s",
            ">=",
            UNITS_PER_SECOND_TARGET,
            details=f"{top['run_s']:.1f} s from process start to exit, "
            f"{top['run_over_handler_floor']:.2f}x the handler's own work alone "
            f"({top['handler_floor_s']:.1f} s: at most "
            f"{top['handler_ceiling_units_per_s']:,.0f} units/s for any executor); "
            f"load average {top['load_average']:.1f}",
            notes=notes,
            extra=dict(top),
        )
    )
    rows.append(
        Row(
            f"executor at scale: resume of the finished run, {label}",
            top["resume_floor_ratio"],
            "x floor",
            "<=",
            RESUME_FLOOR_RATIO_TARGET,
            details=f"resume {top['resume_s']:.1f} s, orjson floor {top['floor_s']:.1f} s, "
            f"{int(top['resumed']):,} units already done; peak {top['resume_peak_rss_mib']:.0f} MiB",
        )
    )
    rows.append(
        Row(
            f"executor at scale: peak RSS, {label}, one record a line",
            top["peak_rss_mib"],
            "MiB",
            "<=",
            PEAK_RSS_TARGET_MIB,
            details="; ".join(f"{int(f['lines']):,}: {f['peak_rss_mib']:.0f} MiB" for f in figures),
        )
    )
    rows.append(
        Row(
            f"executor at scale: whole run, {label}, no records",
            none["units_per_s"],
            "units/s",
            ">=",
            UNITS_PER_SECOND_TARGET,
            details=f"{none['run_s']:.1f} s, peak {none['peak_rss_mib']:.0f} MiB, resume "
            f"{none['resume_s']:.1f} s ({none['resume_floor_ratio']:.2f}x floor); "
            f"load average {none['load_average']:.1f}",
            extra=dict(none),
        )
    )
    return rows
