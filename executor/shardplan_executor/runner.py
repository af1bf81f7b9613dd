"""One `run`: verify the plan, load the handler, claim the run directory, then run.

The run proper is `execution.Execution` (phases in order through the sliding
window; each unit's life there is `lifecycle`); this module turns what can
go wrong before and around it — a refused plan, an unknown handler, another
plan's run directory, a backend that cannot start, a full disk, Ctrl-C —
into a message and an exit code, never a traceback.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shardplan_executor.backends import Backend
from shardplan_executor.events import EventLog
from shardplan_executor.execution import Execution
from shardplan_executor.fingerprint import handler_identity
from shardplan_executor.handlers.discovery import HandlerNotFoundError, load_handler
from shardplan_executor.handlers.protocol import Handler
from shardplan_executor.journal import (
    Journal,
    RunDirectoryError,
    claim_run_directory,
)
from shardplan_executor.options import FAILED, INTERRUPTED, USAGE, RunError, RunOptions
from shardplan_executor.progress import Progress
from shardplan_executor.reuse import ReuseSources
from shardplan_executor.reuse_index import PlanUnits
from shardplan_executor.reuse_source import ReuseSourceError
from shardplan_executor.verify import PlanRefusedError, VerifiedPlan, load_verified_plan

__all__ = ["RunError", "RunOptions", "default_run_dir", "run_plan"]


def default_run_dir(plan_path: Path) -> Path:
    """`<plan dir>/<plan name without .json>.run`, e.g. `golden.plan.json` -> `golden.plan.run`."""
    return plan_path.with_name(plan_path.name.removesuffix(".json") + ".run")


def run_plan(options: RunOptions, progress: Progress | None = None) -> int:
    """Run the plan as `options` say; the process exit code. Never raises for bad input."""
    with young_collections_every(GC_YOUNG_THRESHOLD):
        return _run_plan(options, progress)


def _run_plan(options: RunOptions, progress: Progress | None) -> int:
    progress = progress or Progress(sys.stderr, quiet=options.quiet, report_stream=sys.stdout)
    try:
        verified = load_verified_plan(options.plan_path, options.source)
    except PlanRefusedError as refusal:
        progress.error(f"error: {refusal.message}")
        return refusal.exit_code
    try:
        handler = load_handler(options.handler)
    except HandlerNotFoundError as error:
        progress.error(f"error: {error}")
        return USAGE
    run_dir = options.out_dir or default_run_dir(options.plan_path)
    identity = handler_identity(options.handler, handler)
    if any(_same_directory(path, run_dir) for path in options.reuse):
        progress.error(
            f"error: --reuse {run_dir} is the run directory itself; to resume it, run the same "
            "command without --reuse"
        )
        return USAGE
    try:
        units = (
            PlanUnits(verified.plan.phases, verified.shards, verified.start_ids)
            if options.reuse
            else None
        )
        sources = ReuseSources.open(options.reuse, progress.error, units)
        del units  # matching the old journals' ids was its only use
    except ReuseSourceError as error:
        progress.error(f"error: {error.message}")
        return error.exit_code
    try:
        if options.dry_run:
            from shardplan_executor.dry_run import dry_run

            return dry_run(verified, run_dir, sources, identity, progress)
        return _run_with_sources(options, verified, handler, identity, run_dir, sources, progress)
    finally:
        sources.close()


GC_YOUNG_THRESHOLD = 50_000
"""Allocations between two collections of the youngest generation during a run (Python: 700)."""


@contextmanager
def young_collections_every(allocations: int) -> Iterator[None]:
    """Collect cyclic garbage less often while the run lasts, then restore the thresholds.

    A run makes and drops some ten objects a line per phase (records, source
    lines, tasks), nearly all freed at once by reference counting; at
    Python's default of a young collection every 700 allocations, the
    collector took about 15 % of a 100,000-line run (measured with it
    disabled). Every 50,000 allocations it costs next to nothing, and cycles
    a handler makes are still collected.
    """
    before = gc.get_threshold()
    gc.set_threshold(allocations, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _same_directory(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except (OSError, RuntimeError):  # a symlink loop: not the run directory
        return False


def _run_with_sources(
    options: RunOptions,
    verified: VerifiedPlan,
    handler: Handler,
    identity: str,
    run_dir: Path,
    sources: ReuseSources,
    progress: Progress,
) -> int:
    """The run proper, once the plan, the handler and the `--reuse` directories are ready."""
    try:
        claim_run_directory(run_dir, verified.plan.plan_id, fsync=options.fsync)
        journal = Journal(run_dir, fsync=options.fsync)
        events = EventLog(run_dir)
    except RunDirectoryError as error:
        progress.error(f"error: {error}")
        return FAILED
    except OSError as error:
        progress.error(f"error: cannot write to the run directory {run_dir}: {error.strerror}")
        return USAGE
    backend: Backend
    if options.backend == "dask":
        try:
            from shardplan_executor.backends.dask import DaskBackend
        except ImportError:
            progress.error("error: the dask backend needs `pip install 'shardplan[dask]'`")
            return USAGE
        backend = DaskBackend(
            options.handler,
            options.scheduler_address,
            processes=options.dask_processes,
            n_workers=options.dask_workers,
        )
    else:
        from shardplan_executor.backends.local import LocalBackend

        backend = LocalBackend(handler)
    execution: Execution | None = None
    try:
        execution = Execution(
            options, verified, run_dir, journal, events, backend, progress, sources, identity
        )
        return asyncio.run(execution.run())
    except RunError as error:
        progress.error(f"error: {error.message}")
        return error.exit_code
    except KeyboardInterrupt:
        progress.error(
            f"interrupted: finished units are journaled in {run_dir}; run the same command "
            "again to resume"
        )
        return INTERRUPTED
    except OSError as error:  # a full disk, a directory turned read-only mid-run
        progress.error(
            f"error: cannot write under {run_dir}: {error.strerror or error}; every unit "
            "journaled so far is safe: run the same command again to resume"
        )
        return USAGE
    finally:
        if execution is not None:
            execution.store.close()
        journal.close()
        events.close()
