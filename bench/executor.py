"""Executor throughput with a handler that does nothing, and the Dask backend's overhead.

A no-op handler leaves only what the executor itself costs per unit: the
sliding window, the atomic output file, the journal record and the events.
Throughput is taken from the run's own `phase_completed.duration_ms`, so
process start-up and plan verification are reported separately and do not
dilute the per-unit figure; the Dask overhead is the per-unit difference of
that figure against the local backend, with the two runs interleaved.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import statistics
from dataclasses import dataclass
from pathlib import Path

from bench.context import BenchContext, module_available
from bench.data import write_executor_spec, write_script
from bench.harness import Command, CommandFailed, Row, run_once, spread_of

UNITS_PER_SECOND_TARGET = 10_000.0
CAP = 8
HANDLER = "bench.noop_handler:noop"


@dataclass(frozen=True)
class RunFigures:
    """One `shardplan run`: wall time of the process and of the phase, from its events."""

    wall_s: float
    phase_s: float
    units: int

    @property
    def units_per_second(self) -> float:
        return self.units / self.phase_s if self.phase_s > 0 else float("inf")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def prepare_plan(ctx: BenchContext, units: int, name: str) -> tuple[Path, str]:
    """A plan of `units` one-line shards in one language, compiled by `shardplan compile`."""
    directory = ctx.workdir / name
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "script.jsonl"
    write_script(script, units)
    spec = write_executor_spec(directory, script.name, CAP)
    plan = directory / "plan.json"
    run_once(
        Command(
            "shardplan compile",
            (ctx.tool("shardplan"), "compile", spec.name, "-o", plan.name),
            directory,
            ctx.env(),
        )
    )
    return plan, "compiled by `shardplan compile`"


def run_plan(
    ctx: BenchContext, plan: Path, backend: str, extra_args: tuple[str, ...] = ()
) -> RunFigures:
    """One fresh `shardplan run` (its --out emptied first, so nothing resumes)."""
    out = plan.parent / f"run-{backend}"
    shutil.rmtree(out, ignore_errors=True)
    argv = [ctx.tool("shardplan"), "run", plan.name, "--handler", HANDLER, "--out", out.name]
    argv += ["--backend", backend, "--quiet", *extra_args]
    sample = run_once(Command(f"shardplan run ({backend})", tuple(argv), plan.parent, ctx.env()))
    phase_ms: int | None = None
    units = 0
    with (out / "events.jsonl").open(encoding="utf-8") as events:
        for line in events:
            event = json.loads(line)
            if event.get("event") == "phase_completed":
                phase_ms = int(event["duration_ms"])
                units = int(event["completed"])
    if phase_ms is None:
        raise RuntimeError(f"no phase_completed event in {out / 'events.jsonl'}")
    shutil.rmtree(out, ignore_errors=True)
    return RunFigures(wall_s=sample.seconds, phase_s=phase_ms / 1000, units=units)


# (row label, extra `shardplan run` arguments): the default journal fsyncs every record.
LOCAL_VARIANTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("default (fsync)", ()),
    ("--no-fsync", ("--no-fsync",)),
)


def run(ctx: BenchContext) -> list[Row]:
    """Local units/s over `executor_units`, then Dask vs local per-unit time on `dask_units`."""
    size = ctx.size
    names = [
        f"executor: local {label}, {size.executor_units:,} no-op units"
        for label, _ in LOCAL_VARIANTS
    ]
    dask_name = f"executor: dask overhead, {size.dask_units:,} units"
    if not module_available("shardplan_executor.cli"):
        reason = "shardplan_executor.cli does not exist yet"
        return [
            Row(name, None, "units/s", ">=", UNITS_PER_SECOND_TARGET, details=reason)
            for name in names
        ]
    runs: list[list[RunFigures]] = [[] for _ in LOCAL_VARIANTS]
    try:
        plan, origin = prepare_plan(ctx, size.executor_units, "local")
        for _ in range(size.warmup):
            run_plan(ctx, plan, "local")
        for repeat in range(size.executor_repeats):
            # Alternate which variant goes first, as the paired harness does.
            order = range(len(LOCAL_VARIANTS))
            for index in order if repeat % 2 == 0 else reversed(order):
                runs[index].append(run_plan(ctx, plan, "local", LOCAL_VARIANTS[index][1]))
    except (CommandFailed, RuntimeError, OSError) as failure:
        return [
            Row(name, None, "units/s", ">=", UNITS_PER_SECOND_TARGET, details=str(failure))
            for name in names
        ]
    rows: list[Row] = []
    for name, variant_runs in zip(names, runs, strict=True):
        rates = [figures.units_per_second for figures in variant_runs]
        end_to_end = [figures.units / figures.wall_s for figures in variant_runs]
        phase_s = statistics.median(r.phase_s for r in variant_runs)
        wall_s = statistics.median(r.wall_s for r in variant_runs)
        rows.append(
            Row(
                name,
                statistics.median(rates),
                "units/s",
                ">=",
                UNITS_PER_SECOND_TARGET,
                spread=spread_of(rates),
                details=(
                    f"phase {phase_s:.2f} s, whole process {wall_s:.2f} s "
                    f"({statistics.median(end_to_end):,.0f} units/s end to end); cap {CAP}, "
                    f"async no-op handler, median of {size.executor_repeats} runs; plan {origin}"
                ),
                extra={
                    "phase_s_median": phase_s,
                    "wall_s_median": wall_s,
                    "units": size.executor_units,
                },
            )
        )
    if size.dask_units > 0 and size.dask_repeats > 0:
        rows.append(_dask_overhead(ctx, dask_name))
    return rows


def _dask_overhead(ctx: BenchContext, name: str) -> Row:
    """Per-unit milliseconds the Dask backend adds over local, on the same plan, interleaved."""
    size = ctx.size
    if not (module_available("distributed") and module_available("shardplan_executor")):
        return Row(name, None, "ms/unit", details="dask.distributed is not installed")
    try:
        plan, origin = prepare_plan(ctx, size.dask_units, "dask")
        local: list[RunFigures] = []
        dask: list[RunFigures] = []
        for index in range(size.dask_repeats):
            order = ("local", "dask") if index % 2 == 0 else ("dask", "local")
            for backend in order:
                (local if backend == "local" else dask).append(run_plan(ctx, plan, backend))
    except (CommandFailed, RuntimeError, OSError) as failure:
        return Row(name, None, "ms/unit", details=str(failure))
    overheads = [
        (d.phase_s - loc.phase_s) * 1000 / d.units for d, loc in zip(dask, local, strict=True)
    ]
    dask_rate = statistics.median(r.units_per_second for r in dask)
    local_rate = statistics.median(r.units_per_second for r in local)
    startup = statistics.median(d.wall_s - d.phase_s for d in dask) - statistics.median(
        loc.wall_s - loc.phase_s for loc in local
    )
    return Row(
        name,
        statistics.median(overheads),
        "ms/unit",
        spread=spread_of(overheads),
        details=(
            f"dask {dask_rate:,.0f} units/s vs local {local_rate:,.0f} units/s in the phase; "
            f"LocalCluster start-up and teardown add {startup:.1f} s a run; "
            f"median of {size.dask_repeats} interleaved pairs; plan {origin}"
        ),
        extra={
            "dask_units_per_s": dask_rate,
            "local_units_per_s": local_rate,
            "startup_s": startup,
        },
    )
