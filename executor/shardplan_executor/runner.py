"""One `run`: verify the plan, claim the run directory, run the phases, report.

Phases run in plan order, each finished before the next starts. A phase's
units already in the journal (with their output intact) are skipped; the rest
go through the sliding window. Each finished batch is written at once —
records appended to their segments (`store`), then their journal records —
and counts as completed once the group commit (`commit`) has fsynced it. A
phase with a failed unit stops the run before the next phase.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from shardplan_executor.backends import Backend
from shardplan_executor.commit import GroupCommit
from shardplan_executor.events import EventLog, utc_timestamp
from shardplan_executor.fingerprint import UnitFingerprint, handler_identity, inputs_digest
from shardplan_executor.handlers.discovery import HandlerNotFoundError, load_handler
from shardplan_executor.handlers.protocol import Handler
from shardplan_executor.journal import (
    Journal,
    JournalRecord,
    RunDirectoryError,
    claim_run_directory,
)
from shardplan_executor.outputs import atomic_write_parts, sha256_bytes
from shardplan_executor.progress import Progress
from shardplan_executor.record_index import InputIndex
from shardplan_executor.resume import resume_store
from shardplan_executor.reuse import Reused, ReuseSources
from shardplan_executor.reuse_source import ReuseSourceError
from shardplan_executor.scheduler import (
    Failure,
    Success,
    WindowResult,
    describe_error,
    run_window,
)
from shardplan_executor.source_index import LazyLines
from shardplan_executor.store import SegmentStore, Stored
from shardplan_executor.trusted import trusted
from shardplan_executor.units import Finished, Unit, iter_phase_units, languages_of, make_unit
from shardplan_executor.verify import PlanRefusedError, VerifiedPlan, load_verified_plan
from shardplan_schemas.events import (
    PhaseCompleted,
    PhaseSkipped,
    PhaseStarted,
    RunCompleted,
    RunStarted,
    RunStatus,
    UnitCompleted,
    UnitFailed,
    UnitRetried,
    UnitReused,
)
from shardplan_schemas.plan import PlanPhase
from shardplan_schemas.task import Record, ShardTask

OK, FAILED, USAGE = 0, 1, 2
INTERRUPTED = 130  # the shell's convention for a process ended by Ctrl-C
EMPTY_SHA256 = sha256_bytes(b"")
ADOPT_BATCH = 512
"""Reused units journaled (and fsynced) together."""


@dataclass(frozen=True)
class RunOptions:
    """Everything `shardplan run` was given."""

    plan_path: Path
    handler: str
    out_dir: Path | None = None
    backend: Literal["local", "dask"] = "local"
    scheduler_address: str | None = None
    source: Path | None = None
    quiet: bool = False
    unit_timeout_s: float | None = None
    fsync: bool = True
    dask_processes: bool = True
    dask_workers: int | None = None
    reuse: tuple[Path, ...] = ()
    """Earlier run directories to take unchanged units' outputs from (`--reuse`)."""
    dry_run: bool = False
    """Say what would run and what would be reused; run nothing, write nothing."""


class RunError(Exception):
    """The run cannot start or go on; `exit_code` says why (1 input, 2 usage or I/O)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def default_run_dir(plan_path: Path) -> Path:
    """`<plan dir>/<plan name without .json>.run`, e.g. `golden.plan.json` -> `golden.plan.run`."""
    return plan_path.with_name(plan_path.name.removesuffix(".json") + ".run")


def run_plan(options: RunOptions, progress: Progress | None = None) -> int:
    """Run the plan as `options` say; the process exit code. Never raises for bad input."""
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
        sources = ReuseSources.open(options.reuse, progress.error)
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
    execution: _Execution | None = None
    try:
        execution = _Execution(
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


class _Execution:
    """The state of one run; also the sliding window's sink."""

    def __init__(
        self,
        options: RunOptions,
        verified: VerifiedPlan,
        run_dir: Path,
        journal: Journal,
        events: EventLog,
        backend: Backend,
        progress: Progress,
        sources: ReuseSources,
        identity: str,
    ) -> None:
        self.options = options
        self.sources = sources
        self.identity = identity
        self.fingerprints: dict[str, UnitFingerprint] = {}
        """Fingerprints of the units sent to the handler, journaled when they finish."""
        self.reused_from: dict[str, str] = {}
        """Units being journaled from a `--reuse` directory, and which one."""
        self.plan = verified.plan
        self.shards = verified.shards
        self.source = verified.source
        self.start_ids = verified.start_ids
        self.run_dir = run_dir
        self.journal = journal
        self.events = events
        self.backend = backend
        self.progress = progress
        self.finished = Finished(self.plan.phases, self.shards, self.start_ids)
        self.store = SegmentStore(run_dir, map(len, self.finished.flags))
        resume_store(run_dir, journal.path, self.finished, self.store)
        self.inputs = InputIndex(self.store, self.source, self.start_ids)
        self.indexed: set[int] = set()
        self.rng = random.Random()
        self.commit = GroupCommit(
            journal, self.store, fsync=options.fsync, on_durable=self._durable
        )
        later = [i for i, phase in enumerate(self.plan.phases) if phase.enabled]
        self.last_enabled = later[-1] if later else -1

    def _unit(self, phase_index: int, order: int) -> Unit:
        phase = self.plan.phases[phase_index]
        width = len(languages_of(phase))
        return make_unit(
            phase_index,
            phase,
            self.shards[phase_index],
            self.start_ids,
            order // width,
            order % width,
        )

    def _output(self, unit: Unit) -> bytes:
        return self.store.read_unit(unit.phase_index, unit.order, unit.segment)

    def _index_phase(self, phase_index: int) -> None:
        """Index a phase's outputs for later phases' inputs: those already on disk now,
        and (when the phase is about to run) each new one as it is written."""
        if phase_index in self.indexed:
            return
        self.indexed.add(phase_index)
        phase = self.plan.phases[phase_index]
        self.inputs.open_phase(phase_index, phase, self.shards[phase_index])
        flags = self.finished.flags[phase_index]
        for order in range(len(flags)):
            if flags[order]:
                unit = self._unit(phase_index, order)
                base = self.store.offsets[phase_index][order]
                self.inputs.add_output(unit, self._output(unit), base)

    def _prepare_inputs(self, phase_index: int) -> None:
        """Before a phase runs units: every earlier enabled phase indexed (once)."""
        for earlier in range(phase_index):
            if self.plan.phases[earlier].enabled:
                self._index_phase(earlier)
        if phase_index != self.last_enabled:
            self._index_phase(phase_index)

    async def run(self) -> int:
        started = time.monotonic()
        caps = [p.execution.max_parallel_agents for p in self.plan.phases if p.enabled]
        status: RunStatus = "completed"
        totals = {"completed": 0, "reused": 0, "resumed": 0, "failed": 0, "cancelled": 0}
        try:
            await self.backend.start(max(caps, default=1))
        except Exception as error:  # a scheduler that cannot be reached, a port in use, ...
            await self.backend.close()
            raise RunError(
                f"cannot start the {self.backend.name} backend: {describe_error(error)}", USAGE
            ) from None
        self.events.emit(
            RunStarted(
                timestamp=utc_timestamp(),
                event="run_started",
                plan_id=self.plan.plan_id,
                backend=self.backend.name,
                handler=self.options.handler,
                resumed_units=self.finished.count,
            )
        )
        try:
            for index, phase in enumerate(self.plan.phases):
                if not phase.enabled:
                    self.events.emit(
                        PhaseSkipped(
                            timestamp=utc_timestamp(),
                            event="phase_skipped",
                            phase=phase.phase,
                            reason="disabled in the spec",
                        )
                    )
                    continue
                if status != "completed":
                    totals["cancelled"] += self.finished.remaining(index)
                    continue
                result, resumed, reused = await self._run_phase(index, phase)
                totals["completed"] += result.completed
                totals["reused"] += reused
                totals["resumed"] += resumed
                totals["failed"] += result.failed
                totals["cancelled"] += result.cancelled
                if result.aborted:
                    status = "aborted"
                elif result.failed:
                    status = "failed"
                elif phase.phase == "export":
                    self._write_exports(index)
        finally:
            await self.backend.close()
        duration = int((time.monotonic() - started) * 1000)
        self.events.emit(
            RunCompleted(
                timestamp=utc_timestamp(),
                event="run_completed",
                status=status,
                duration_ms=duration,
                **totals,
            )
        )
        self.progress.info(
            f"run {status}: {totals['completed']} unit(s) run, {self._reused(totals['reused'])}"
            f"{totals['resumed']} already done, "
            f"{totals['failed']} failed, {totals['cancelled']} not run; outputs in {self.run_dir}"
        )
        if status != "completed":
            self.progress.error(
                "error: the run did not complete; fix the cause and run the same command "
                "again: only failed and unfinished units will run"
            )
            return FAILED
        return OK

    async def _run_phase(self, index: int, phase: PlanPhase) -> tuple[WindowResult, int, int]:
        flags = self.finished.flags[index]
        total = len(flags)
        remaining = self.finished.remaining(index)
        resumed = total - remaining
        if remaining:
            self._prepare_inputs(index)
        # A snapshot: units finishing during the phase must not change what it runs.
        skip = bytearray(flags)
        reused = self._decide_reuse(index, phase, skip) if remaining else 0
        to_run_count = remaining - reused
        to_run = iter_phase_units(index, phase, self.shards[index], self.start_ids, skip=skip)
        cap = phase.execution.max_parallel_agents
        self.events.emit(
            PhaseStarted(
                timestamp=utc_timestamp(),
                event="phase_started",
                phase=phase.phase,
                strategy=phase.execution.strategy,
                shard_count=phase.shard_count,
                unit_count=total,
                max_parallel_agents=cap,
                target_languages=phase.target_languages,
            )
        )
        self.progress.start_phase(phase.phase, to_run_count, resumed, cap, reused=reused)
        started = time.monotonic()
        result = await run_window(
            to_run,
            cap=cap,
            policy=self.plan.run_policy,
            call=self._call,
            sink=self,
            timeout_s=self.options.unit_timeout_s,
            rng=self.rng,
        )
        await self.commit.drain()
        duration = int((time.monotonic() - started) * 1000)
        status: RunStatus = (
            "aborted" if result.aborted else "failed" if result.failed else "completed"
        )
        self.events.emit(
            PhaseCompleted(
                timestamp=utc_timestamp(),
                event="phase_completed",
                phase=phase.phase,
                status=status,
                completed=result.completed,
                reused=reused,
                resumed=resumed,
                failed=result.failed,
                cancelled=result.cancelled,
                duration_ms=duration,
            )
        )
        aborted = (
            f", aborted after {self.plan.run_policy.max_consecutive_failures} failures in a row"
            f" ({result.cancelled} cancelled)"
            if result.aborted
            else ""
        )
        self.progress.end_phase(
            f"{phase.phase}: {status}, {result.completed} run, {self._reused(reused)}"
            f"{resumed} already done, "
            f"{result.failed} failed in {duration / 1000:.1f} s{aborted}"
        )
        return result, resumed, reused

    def _reused(self, count: int) -> str:
        """`N reused, ` for the summaries, when --reuse was given."""
        return f"{count} reused, " if self.sources.runs else ""

    def _decide_reuse(self, phase_index: int, phase: PlanPhase, skip: bytearray) -> int:
        """Take the phase's reusable units from the `--reuse` directories; how many.

        Decided before dispatch, so every backend gets only the units that run:
        each unfinished unit with a candidate is fingerprinted from this run's
        upstream outputs; a reused one is written and journaled like a fresh
        one (in batches of `ADOPT_BATCH`) and its byte in `skip` set, so the
        window leaves it out.
        """
        if not self.sources.runs:
            return 0
        count = 0
        batch: list[Success] = []
        units = iter_phase_units(
            phase_index, phase, self.shards[phase_index], self.start_ids, skip=bytearray(skip)
        )
        for unit in units:
            if not self.sources.may_reuse(unit, self.identity):
                continue  # fingerprinted at dispatch, from the inputs the task gets
            fingerprint = self._fingerprint(unit, self.inputs.inputs_for(unit))
            decision = self.sources.decide(unit, self.identity, fingerprint)
            if not isinstance(decision, Reused):
                continue
            skip[unit.order] = 1
            count += 1
            self.reused_from[unit.unit_id] = decision.source
            stored = self._store_output(unit, decision.output)
            batch.append(Success(unit, stored, attempt=1, duration_ms=0))
            if len(batch) >= ADOPT_BATCH:
                self.succeeded(batch)
                batch = []
        if batch:
            self.succeeded(batch)
        return count

    def _fingerprint(self, unit: Unit, inputs: Mapping[str, Sequence[Record]]) -> UnitFingerprint:
        """The unit's fingerprint, kept until its journal record is written."""
        fingerprint = self.fingerprints.get(unit.unit_id)
        if fingerprint is None:
            fingerprint = UnitFingerprint(
                language=unit.language, handler=self.identity, inputs_sha256=inputs_digest(inputs)
            )
            self.fingerprints[unit.unit_id] = fingerprint
        return fingerprint

    def _task(self, unit: Unit) -> ShardTask:
        inputs = self.inputs.inputs_for(unit)
        self._fingerprint(unit, inputs)
        # Built from verified data only, so model validation would only cost time. Lines
        # and inputs are lazy sequences: read from the source and the outputs when used.
        return trusted(
            ShardTask,
            {
                "phase": unit.phase.phase,
                "target_language": unit.language,
                "agents": list(unit.phase.agents),
                "unit_id": unit.unit_id,
                "shard_key": f"{unit.phase.phase}:{unit.line_id}",
                "lines": LazyLines(self.source, unit.start, unit.end),
                "inputs": inputs,
                "plan_id": self.plan.plan_id,
            },
        )

    async def _call(self, unit: Unit) -> Stored:
        return self._store_output(unit, await self.backend.run(self._task(unit)))

    def _store_output(self, unit: Unit, data: bytes) -> Stored:
        """Append a unit's records to its segment as soon as they exist; where they went.

        Written before the window sees the unit finish, so a `full` unit's
        bytes are not held while the next unit runs. The unit is finished
        only once its journal record is written (`succeeded`): bytes of a
        unit killed before that are never read (see `resume`).
        """
        if not data:
            stored = Stored(None, 0, 0, EMPTY_SHA256, 0)
        else:
            offset = self.store.append(unit.segment, data)
            self.store.place(unit.phase_index, unit.order, offset, len(data))
            stored = Stored(unit.segment, offset, len(data), sha256_bytes(data), data.count(b"\n"))
        if unit.phase_index in self.indexed:
            self.inputs.add_output(unit, data, stored.offset)
        return stored

    def _write_exports(self, phase_index: int) -> None:
        """`export/<lang>.jsonl`: the export units' records of each language, in plan order.

        Streamed unit by unit into a temporary file renamed into place, so the
        export of a million lines is never in memory at once.
        """
        phase = self.plan.phases[phase_index]
        languages = phase.target_languages or []
        width = len(languages)
        shard_count = len(self.shards[phase_index])
        for language_index, language in enumerate(languages):
            parts = (
                self._output(self._unit(phase_index, shard * width + language_index))
                for shard in range(shard_count)
            )
            atomic_write_parts(
                self.run_dir / "export" / f"{language}.jsonl", parts, fsync=self.options.fsync
            )

    # --- the window's sink -------------------------------------------------------------

    def started(self, unit: Unit) -> None:
        return None

    def retried(self, unit: Unit, attempt: int, error: str, delay_ms: int) -> None:
        self.events.emit(
            UnitRetried(
                timestamp=utc_timestamp(),
                event="unit_retried",
                unit_id=unit.unit_id,
                attempt=attempt,
                error=error,
                delay_ms=delay_ms,
            )
        )

    def succeeded(self, batch: Sequence[Success]) -> None:
        """Journal a batch whose records are in their segments (fsynced by group commit)."""
        segments: set[str] = set()
        records: list[JournalRecord] = []
        for success in batch:
            unit, stored = success.unit, success.output
            if stored.segment is not None:
                segments.add(stored.segment)
            records.append(
                trusted(
                    JournalRecord,
                    {
                        "id": unit.unit_id,
                        "sha256": unit.sha256,
                        "output": stored.segment,
                        "offset": stored.offset,
                        "length": stored.length,
                        "output_sha256": stored.sha256,
                        "records": stored.records,
                        "fingerprint": self.fingerprints.pop(unit.unit_id, None),
                    },
                )
            )
        self.commit.submit(segments, batch, records)

    def _durable(self, batch: Sequence[Success], records: Sequence[JournalRecord]) -> None:
        """Report a durable batch: one timestamp (they became durable together), one write."""
        reused = 0
        now = utc_timestamp()
        events: list[UnitCompleted | UnitReused] = []
        for success, record in zip(batch, records, strict=True):
            self.finished.add(success.unit.phase_index, success.unit.order)
            source = self.reused_from.pop(success.unit.unit_id, None)
            if source is not None:
                reused += 1
                events.append(
                    UnitReused(
                        timestamp=now,
                        event="unit_reused",
                        unit_id=success.unit.unit_id,
                        source=source,
                        records=record.records,
                    )
                )
                continue
            events.append(
                UnitCompleted(
                    timestamp=now,
                    event="unit_completed",
                    unit_id=success.unit.unit_id,
                    attempt=success.attempt,
                    records=record.records,
                    duration_ms=success.duration_ms,
                )
            )
        self.events.emit_many(events)
        self.progress.advance(done=len(batch) - reused, reused=reused)

    def failed(self, failure: Failure) -> None:
        self.events.emit(
            UnitFailed(
                timestamp=utc_timestamp(),
                event="unit_failed",
                unit_id=failure.unit.unit_id,
                attempts=failure.attempts,
                error=failure.error,
                traceback=failure.traceback,
            )
        )
        self.progress.advance(failed=1)
        self.progress.error(
            f"error: unit {failure.unit.unit_id} failed after {failure.attempts} attempt(s): "
            f"{failure.error}"
        )
