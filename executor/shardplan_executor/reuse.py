"""`run --reuse`: take a unit's output from an earlier run when its fingerprint matches.

A unit is reused from the first `--reuse` directory (in the order given)
whose journal has a finished unit of the same id with the same fingerprint —
shard `sha256`, language, handler identity and inputs digest (see
`fingerprint`) — and whose output is intact (see `reuse_source`). Otherwise
it runs, and the decision says why, for `--dry-run` and for the curious:
the reason of the closest miss over all directories.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from shardplan_executor.fingerprint import UnitFingerprint
from shardplan_executor.reuse_index import ABSENT, OTHER_SHARD, UNUSUAL, PlanUnits
from shardplan_executor.reuse_source import Emit, OldRun
from shardplan_executor.units import Unit

RerunReason = Literal[
    "no_record",
    "no_fingerprint",
    "shard_changed",
    "handler_changed",
    "upstream_dirty",
    "upstream_changed",
    "damaged_output",
]
REASON_TEXT: dict[RerunReason, str] = {
    "no_record": "no matching finished unit",
    "no_fingerprint": "finished before reuse existed (no fingerprint)",
    "shard_changed": "shard changed",
    "handler_changed": "handler changed",
    "upstream_dirty": "upstream dirty",
    "upstream_changed": "upstream output changed",
    "damaged_output": "damaged output",
}
"""How each reason reads on the console; the order is that of closeness (last: closest)."""
_CLOSENESS = {reason: rank for rank, reason in enumerate(REASON_TEXT)}


@dataclass(frozen=True)
class Reused:
    """A unit whose output comes from an earlier run."""

    unit: Unit
    output: bytes
    source: str
    """The `--reuse` directory, as given on the command line."""


@dataclass(frozen=True)
class Rerun:
    """A unit that must run, and why."""

    unit: Unit
    reason: RerunReason


Decision = Reused | Rerun


class ReuseSources:
    """The `--reuse` directories of one run, in the order given."""

    def __init__(self, runs: Sequence[OldRun]) -> None:
        self.runs = list(runs)

    @classmethod
    def open(cls, paths: Sequence[Path], emit: Emit, units: PlanUnits | None) -> ReuseSources:
        """Open every directory (see `OldRun`), keeping what it says of `units`, this plan's
        (None: no directory is given); raises `ReuseSourceError` for the first unusable."""
        runs: list[OldRun] = []
        try:
            for path in paths:
                assert units is not None, "directories to reuse need the plan's units"
                runs.append(OldRun(path, emit, units))
        except BaseException:
            for run in runs:
                run.close()
            raise
        return cls(runs)

    @property
    def finished_units(self) -> int:
        return sum(len(run.records) for run in self.runs)

    def _miss(self, unit: Unit, run: OldRun, handler: str) -> RerunReason | None:
        """Why `run`'s record of `unit` cannot stand in for it before inputs are compared; None
        if it may (`no_record` when there is none)."""
        records = run.records
        kind = records.kind(unit)
        if kind == ABSENT:
            return "no_record"
        if kind == OTHER_SHARD:
            return "shard_changed"
        if kind == UNUSUAL:
            record = records.unusual[unit.phase_index, unit.order]
            if record.fingerprint is None:
                return "no_fingerprint"
            if record.fingerprint.language != unit.language:
                return "shard_changed"  # the unit id holds the language: a forged record
            return "handler_changed" if record.fingerprint.handler != handler else None
        recorded = records.handler(unit)
        if recorded is None:
            return "no_fingerprint"
        return "handler_changed" if recorded != handler else None

    def _same_inputs(self, unit: Unit, run: OldRun, fingerprint: UnitFingerprint) -> bool:
        """Whether `run`'s record of `unit` has this fingerprint (its handler already matched)."""
        records = run.records
        if records.kind(unit) == UNUSUAL:
            return records.unusual[unit.phase_index, unit.order].fingerprint == fingerprint
        return (
            fingerprint.language == unit.language  # the record's, checked as it was read
            and fingerprint.handler == records.handler(unit)
            and fingerprint.inputs_sha256 == records.inputs_sha256(unit)
        )

    def may_reuse(self, unit: Unit, handler: str) -> bool:
        """Whether some directory has a candidate for `unit` (before its inputs are digested)."""
        return any(self._miss(unit, run, handler) is None for run in self.runs)

    def decide(self, unit: Unit, handler: str, fingerprint: UnitFingerprint | None) -> Decision:
        """Reuse `unit` if a directory has it with this fingerprint and an intact output.

        `fingerprint` is None when the unit's inputs cannot be known yet (a
        dry run, downstream of a unit that would run): then a unit that would
        otherwise be a candidate is `upstream_dirty`.
        """
        reason: RerunReason = "no_record"

        def closer(candidate: RerunReason) -> None:
            nonlocal reason
            if _CLOSENESS[candidate] > _CLOSENESS[reason]:
                reason = candidate

        for run in self.runs:
            miss = self._miss(unit, run, handler)
            if miss is not None:
                closer(miss)
                continue
            if fingerprint is None:
                closer("upstream_dirty")
                continue
            if not self._same_inputs(unit, run, fingerprint):
                closer("upstream_changed")
                continue
            output = run.read_output(unit)
            if output is None:
                closer("damaged_output")
                continue
            return Reused(unit, output, run.label)
        return Rerun(unit, reason)

    def close(self) -> None:
        for run in self.runs:
            run.close()
