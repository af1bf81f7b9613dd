"""The state of one run: phases in plan order, each through the sliding window.

A phase's units already in the journal (with their output intact, see
`resume`) are skipped, those an earlier run can stand in for are reused
(`--reuse`), the rest go through the window (`scheduler`); what happens to
each unit there is `lifecycle`. A phase with a failed unit stops the run
before the next phase. The export phase's records are also written as
`export/<lang>.jsonl`.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from shardplan_executor.backends import Backend
from shardplan_executor.commit import GroupCommit
from shardplan_executor.events import EventLog, utc_timestamp
from shardplan_executor.fingerprint import UnitFingerprint
from shardplan_executor.journal import (
    Journal,
)
from shardplan_executor.lifecycle import UnitLifecycle
from shardplan_executor.options import FAILED, OK, USAGE, RunError, RunOptions
from shardplan_executor.outputs import atomic_write_parts
from shardplan_executor.progress import Progress
from shardplan_executor.record_index import InputIndex
from shardplan_executor.resume import resume_store
from shardplan_executor.reuse import Reused, ReuseSources
from shardplan_executor.scheduler import (
    Success,
    WindowResult,
    describe_error,
    run_window,
)
from shardplan_executor.store import SegmentStore
from shardplan_executor.units import Finished, Unit, iter_phase_units, languages_of, make_unit
from shardplan_executor.verify import VerifiedPlan
from shardplan_schemas.events import (
    PhaseCompleted,
    PhaseSkipped,
    PhaseStarted,
    RunCompleted,
    RunStarted,
    RunStatus,
)
from shardplan_schemas.plan import PlanPhase

ADOPT_BATCH = 512
"""Reused units journaled (and fsynced) together."""
ADOPT_DRAIN = 16 * ADOPT_BATCH
"""Reused units after which the adoption waits for their group commit to drain: deciding
never yields to the event loop, so without it a phase's 200,000 reused units (their
records, events and journal records) all waited in memory for their first fsync round,
some 250 MB at a million lines."""


class Execution(UnitLifecycle):
    """The state of one run: the phases in order, each through the sliding window."""

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
        self.sealer = resume_store(
            run_dir, journal.path, self.finished, self.store, self.plan.plan_id, self.plan.phases
        )
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
        reused = await self._decide_reuse(index, phase, skip) if remaining else 0
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
        self.sealer.seal_finished(index, self.finished, self.store, fsync=self.options.fsync)
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

    async def _decide_reuse(self, phase_index: int, phase: PlanPhase, skip: bytearray) -> int:
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
            stored = self._store_output(unit, (decision.output,))
            batch.append(Success(unit, stored, attempt=1, duration_ms=0))
            if len(batch) >= ADOPT_BATCH:
                self.succeeded(batch)
                batch = []
                if count % ADOPT_DRAIN == 0:
                    await self.commit.drain()
        if batch:
            self.succeeded(batch)
        return count

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
