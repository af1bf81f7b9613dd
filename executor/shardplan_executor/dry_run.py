"""`run --dry-run`: per phase, what would run and what would be reused, and why.

It goes through the phases as a run would, with the same fingerprints and the
same `--reuse` decisions, but calls no handler and writes nothing. A unit's
inputs are known only when every upstream unit it reads would be reused (or
is already done in `--out`): their outputs are then the earlier runs'
verified outputs. Downstream of a unit that would run, the inputs cannot be
known before that unit runs, so such a unit counts as "would run" with the
reason `upstream dirty` — a real run may still reuse it, if the rerun
upstream comes out identical (early cutoff). The counts are therefore an
upper bound on what a run pays for.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from pydantic import ValidationError

from shardplan_executor.fingerprint import UnitFingerprint, inputs_digest
from shardplan_executor.inputs import InputIndex
from shardplan_executor.journal import MANIFEST_NAME, RunManifest
from shardplan_executor.progress import Progress
from shardplan_executor.records import decode_records
from shardplan_executor.reuse import REASON_TEXT, Rerun, RerunReason, Reused, ReuseSources
from shardplan_executor.reuse_source import OldRun, ReuseSourceError
from shardplan_executor.units import Unit, phase_units
from shardplan_executor.verify import VerifiedPlan
from shardplan_schemas.task import Record

OK, FAILED = 0, 1
EXAMPLES = 3
"""Unit ids named per reason and phase; the rest are counted."""


class _UpstreamDirty(Exception):
    """A unit's inputs include the output of a unit that would run."""


def _resume_source(run_dir: Path, plan_id: str, progress: Progress) -> OldRun | str | None:
    """`--out` as a run would find it: None when new, an error text when another plan's."""
    manifest = run_dir / MANIFEST_NAME
    if not manifest.exists():
        return None
    try:
        owner = RunManifest.model_validate_json(manifest.read_bytes()).plan_id
    except (OSError, ValidationError):
        return f"{manifest} is not a shardplan run manifest; give another --out"
    if owner != plan_id:
        return f"{run_dir} holds a run of another plan ({owner}); give another --out"
    try:
        return OldRun(run_dir, progress.error, option="--out")
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
    plan = verified.plan
    resume = _resume_source(run_dir, plan.plan_id, progress)
    if isinstance(resume, str):
        progress.error(f"error: {resume}")
        return FAILED
    try:
        return _report(verified, sources, resume, identity, progress)
    finally:
        if resume is not None:
            resume.close()


def _report(
    verified: VerifiedPlan,
    sources: ReuseSources,
    resume: OldRun | None,
    identity: str,
    progress: Progress,
) -> int:
    plan = verified.plan
    line_ids = [line.line_id for line in verified.lines]
    known: dict[str, bytes] = {}

    def load(unit: Unit) -> list[Record]:
        data = known.get(unit.unit_id)
        if data is None:
            raise _UpstreamDirty(unit.unit_id)
        return decode_records(data)

    index = InputIndex(load)
    say = progress.report
    say("dry run: no handler is called and nothing is written")
    for run in sources.runs:
        say(f"reuse from {run.label}: {len(run.records)} finished unit(s)")
    totals = Counter[str]()
    for phase_index, phase in enumerate(plan.phases):
        if not phase.enabled:
            say(f"{phase.phase}: disabled")
            continue
        units = phase_units(phase_index, phase, line_ids)
        reasons = Counter[RerunReason]()
        examples: dict[RerunReason, list[str]] = defaultdict(list)
        reused = done = 0
        for unit in units:
            if resume is not None and _already_done(resume, unit, known):
                done += 1
                continue
            decision = _decide(unit, index, sources, identity)
            if isinstance(decision, Reused):
                known[unit.unit_id] = decision.output
                reused += 1
            else:
                reasons[decision.reason] += 1
                examples[decision.reason].append(unit.unit_id)
        index.add_phase(units)
        if not units:
            index.add_empty_phase(phase.phase)
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


def _already_done(resume: OldRun, unit: Unit, known: dict[str, bytes]) -> bool:
    """Whether `--out` already has this unit finished and intact (a resume would skip it)."""
    record = resume.records.get(unit.unit_id)
    if record is None or record.sha256 != unit.shard.sha256:
        return False
    output = resume.read_output(unit, record)
    if output is None:
        return False
    known[unit.unit_id] = output
    return True


def _decide(unit: Unit, index: InputIndex, sources: ReuseSources, identity: str) -> Reused | Rerun:
    try:
        fingerprint: UnitFingerprint | None = UnitFingerprint(
            language=unit.language,
            handler=identity,
            inputs_sha256=inputs_digest(index.inputs_for(unit)),
        )
    except _UpstreamDirty:
        fingerprint = None
    return sources.decide(unit, identity, fingerprint)
