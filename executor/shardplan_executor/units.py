"""Units of work: each shard of an enabled phase, once per target language.

A unit's id (`<phase>.<lang>:<line id>`, or `<phase>:<line id>` for a phase
without languages) names it in the journal, the events and the output tree,
so it must be derived the same way everywhere: here. The line id is the id of
the source line at the shard's start, as the executor read it from the
verified source, never a string taken from the plan: a forged key must not
choose where a file is written (DESIGN §7).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shardplan_schemas.plan import PlanPhase, Shard


@dataclass(frozen=True)
class Unit:
    """One shard of one phase in one language (or in none)."""

    unit_id: str
    phase_index: int
    order: int
    """Position of the unit in its phase, in plan order (shard, then language)."""
    phase: PlanPhase
    shard: Shard
    shard_index: int
    """Position of the shard in its phase."""
    line_id: str
    """Id of the source line at the shard's start, from the verified source."""
    language: str | None

    @property
    def output_path(self) -> str:
        """Where the unit's records go, relative to the run directory, `/`-separated."""
        folder = (
            self.phase.phase if self.language is None else f"{self.phase.phase}.{self.language}"
        )
        return f"outputs/{folder}/{self.line_id}.jsonl"


def unit_id(phase: str, language: str | None, line_id: str) -> str:
    """`<phase>.<lang>:<line id>`, or `<phase>:<line id>` without a language."""
    if language is None:
        return f"{phase}:{line_id}"
    return f"{phase}.{language}:{line_id}"


def phase_units(phase_index: int, phase: PlanPhase, line_ids: Sequence[str]) -> list[Unit]:
    """The phase's units in plan order: shards in order, each in every target language.

    `line_ids` are the verified source's ids; each shard's unit ids and file
    names are made from the id at its start.
    """
    if not phase.enabled:
        return []
    languages: Sequence[str | None] = (
        [None] if phase.target_languages is None else phase.target_languages
    )
    units: list[Unit] = []
    for shard_index, shard in enumerate(phase.shards):
        line_id = line_ids[shard.start]
        for language in languages:
            units.append(
                Unit(
                    unit_id=unit_id(phase.phase, language, line_id),
                    phase_index=phase_index,
                    order=len(units),
                    phase=phase,
                    shard=shard,
                    shard_index=shard_index,
                    line_id=line_id,
                    language=language,
                )
            )
    return units
