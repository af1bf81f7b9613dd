"""`run --dry-run`: per phase, what would run and what would be reused, and why.

It goes through the phases as a run would, with the same fingerprints and the
same `--reuse` decisions, but calls no handler and writes nothing. A unit's
inputs are known only when every upstream unit it reads would be reused (or
is already done in `--out`): the record index (`record_index`) is then fed
with the earlier runs' verified outputs, held in memory, and gives the same
narrowed inputs a run would. A unit whose lines overlap an earlier phase's
unit that would run (in its language or in none) counts as "would run" with
the reason `upstream dirty` — a real run may still reuse it, if the rerun
upstream comes out identical (early cutoff). Records of a rerun unit that
concern other units by scene, by route or as concerning every unit cannot be
foreseen: in that rare case a dry run may promise a reuse that the run, which
always decides by the fingerprint, does not make.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from pathlib import Path

from pydantic import ValidationError

from shardplan_executor.fingerprint import UnitFingerprint, inputs_digest
from shardplan_executor.journal import MANIFEST_NAME, RUN_FORMAT, RunManifest
from shardplan_executor.plan_reader import PhaseShards
from shardplan_executor.progress import Progress
from shardplan_executor.record_index import InputIndex, OutputFiles, Upstream
from shardplan_executor.reuse import REASON_TEXT, Rerun, RerunReason, Reused, ReuseSources
from shardplan_executor.reuse_index import PlanUnits
from shardplan_executor.reuse_source import OldRun, ReuseSourceError
from shardplan_executor.units import Unit, iter_phase_units
from shardplan_executor.verify import VerifiedPlan

OK, FAILED = 0, 1
EXAMPLES = 3
"""Unit ids named per reason and phase; the rest are counted."""


def _resume_source(
    run_dir: Path, verified: VerifiedPlan, progress: Progress
) -> OldRun | str | None:
    """`--out` as a run would find it: None when new, an error text when another plan's."""
    manifest = run_dir / MANIFEST_NAME
    if not manifest.exists():
        return None
    try:
        read = RunManifest.model_validate_json(manifest.read_bytes())
        owner, manifest_format = read.plan_id, read.format
    except (OSError, ValidationError):
        return f"{manifest} is not a shardplan run manifest; give another --out"
    if manifest_format != RUN_FORMAT:
        return (
            f"{run_dir} was written by an earlier shardplan (run format {manifest_format!r}); "
            "give another --out, or delete it and run again"
        )
    if owner != verified.plan.plan_id:
        return f"{run_dir} holds a run of another plan ({owner}); give another --out"
    try:
        units = PlanUnits(verified.plan.phases, verified.shards, verified.start_ids)
        return OldRun(run_dir, progress.error, units, option="--out")
    except ReuseSourceError as error:
        return error.message


def dry_run(
    verified: VerifiedPlan,
    run_dir: Path,
    sources: ReuseSources,
    identity: str,
    progress: Progress,
) -> int:
    """Print the dry run's report on the progress stream's info channel; the exit code."""
    resume = _resume_source(run_dir, verified, progress)
    if isinstance(resume, str):
        progress.error(f"error: {resume}")
        return FAILED
    try:
        return _report(verified, sources, resume, identity, progress)
    finally:
        if resume is not None:
            resume.close()


class _KnownOutputs(OutputFiles):
    """Upstream outputs as a dry run knows them: in memory, from `--out` or a `--reuse` run."""

    def __init__(self, known: dict[tuple[str, int], bytes]) -> None:
        super().__init__(None)
        self.known = known

    def whole(self, upstream: Upstream, shard_index: int) -> bytes:
        return self.known[(upstream.segment, shard_index)]

    def read(self, upstream: Upstream, shard_index: int, first: int, end: int) -> bytes:
        self.records_read += end - first
        data = self.whole(upstream, shard_index)
        offsets = upstream.offsets.get(shard_index)
        if offsets is not None:
            return data[offsets[first] : offsets[end]]
        if first == 0 and end == upstream.counts[shard_index]:
            return data
        lines = data.split(b"\n")
        return b"".join(line + b"\n" for line in lines[first:end])


class _Dirty:
    """Units that would run, per phase and language: their outputs are unknown."""

    def __init__(self) -> None:
        self._shards: dict[tuple[int, str | None], list[int]] = {}
        self._phases: list[tuple[int, PhaseShards]] = []

    def add_phase(self, phase_index: int, shards: PhaseShards) -> None:
        self._phases.append((phase_index, shards))

    def add(self, unit: Unit) -> None:
        self._shards.setdefault((unit.phase_index, unit.language), []).append(unit.shard_index)

    def upstream_of(self, unit: Unit) -> bool:
        """Whether an earlier phase's unit that would run overlaps `unit`'s lines.

        Shards in a phase come in order, so each list of dirty shard indices is
        sorted and one bisection answers.
        """
        for phase_index, shards in self._phases:
            if phase_index >= unit.phase_index:
                continue
            lo = max(bisect_right(shards.starts, unit.start) - 1, 0)
            hi = bisect_left(shards.starts, unit.end)
            for language in {None, unit.language}:
                dirty = self._shards.get((phase_index, language))
                if (
                    dirty
                    and bisect_left(dirty, lo) < len(dirty)
                    and dirty[bisect_left(dirty, lo)] < hi
                ):
                    return True
        return False


def _report(
    verified: VerifiedPlan,
    sources: ReuseSources,
    resume: OldRun | None,
    identity: str,
    progress: Progress,
) -> int:
    plan = verified.plan
    known: dict[tuple[str, int], bytes] = {}
    """Outputs a run would have when a later phase starts, by segment and shard."""
    index = InputIndex(None, verified.source, verified.start_ids, files=_KnownOutputs(known))
    dirty = _Dirty()
    say = progress.report
    say("dry run: no handler is called and nothing is written")
    for run in sources.runs:
        say(f"reuse from {run.label}: {len(run.records)} finished unit(s)")
    totals = Counter[str]()
    for phase_index, phase in enumerate(plan.phases):
        if not phase.enabled:
            say(f"{phase.phase}: disabled")
            continue
        shards = verified.shards[phase_index]
        reasons = Counter[RerunReason]()
        examples: dict[RerunReason, list[str]] = defaultdict(list)
        reused = done = 0
        outputs: list[tuple[Unit, bytes]] = []
        for unit in iter_phase_units(phase_index, phase, shards, verified.start_ids):
            output = _already_done(resume, unit) if resume is not None else None
            if output is not None:
                done += 1
                outputs.append((unit, output))
                continue
            decision = _decide(unit, index, dirty, sources, identity)
            if isinstance(decision, Reused):
                outputs.append((unit, decision.output))
                reused += 1
            else:
                dirty.add(unit)
                reasons[decision.reason] += 1
                examples[decision.reason].append(unit.unit_id)
        index.open_phase(phase_index, phase, shards)
        dirty.add_phase(phase_index, shards)
        for unit, output in outputs:
            known[(unit.segment, unit.shard_index)] = output
            index.add_output(unit, output)
        would_run = sum(reasons.values())
        totals.update(run=would_run, reused=reused, done=done)
        already = f", {done} already done" if done else ""
        say(f"{phase.phase}: {would_run} would run, {reused} would be reused{already}")
        for reason in REASON_TEXT:
            if reasons[reason]:
                named = examples[reason][:EXAMPLES]
                more = len(examples[reason]) - len(named)
                say(
                    f"  {reasons[reason]} {REASON_TEXT[reason]}: {', '.join(named)}"
                    + (f" (+{more} more)" if more else "")
                )
    already = f", {totals['done']} already done" if totals["done"] else ""
    say(f"total: {totals['run']} would run, {totals['reused']} would be reused{already}")
    return OK


def _already_done(resume: OldRun, unit: Unit) -> bytes | None:
    """The unit's output when `--out` already has it finished and intact (a resume skips it)."""
    return resume.finished_output(unit)


def _decide(
    unit: Unit, index: InputIndex, dirty: _Dirty, sources: ReuseSources, identity: str
) -> Reused | Rerun:
    fingerprint: UnitFingerprint | None = None
    if not sources.may_reuse(unit, identity):
        return sources.decide(unit, identity, None)  # the reason needs no inputs
    if not dirty.upstream_of(unit):
        fingerprint = UnitFingerprint(
            language=unit.language,
            handler=identity,
            inputs_sha256=inputs_digest(index.inputs_for(unit)),
        )
    return sources.decide(unit, identity, fingerprint)
