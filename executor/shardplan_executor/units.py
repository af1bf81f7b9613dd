"""Units of work: each shard of an enabled phase, once per target language.

A unit's id (`<phase>.<lang>:<first_line_id>`, or `<phase>:<first_line_id>`
for a phase without languages) names it in the journal, the events and the
output tree, so it must be derived the same way everywhere: here.
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
    language: str | None

    @property
    def output_path(self) -> str:
        """Where the unit's records go, relative to the run directory, `/`-separated."""
        folder = (
            self.phase.phase if self.language is None else f"{self.phase.phase}.{self.language}"
        )
        return f"outputs/{folder}/{self.shard.first_line_id}.jsonl"


def unit_id(phase: str, language: str | None, first_line_id: str) -> str:
    """`<phase>.<lang>:<first_line_id>`, or `<phase>:<first_line_id>` without a language."""
    if language is None:
        return f"{phase}:{first_line_id}"
    return f"{phase}.{language}:{first_line_id}"


def phase_units(phase_index: int, phase: PlanPhase) -> list[Unit]:
    """The phase's units in plan order: shards in order, each in every target language."""
    if not phase.enabled:
        return []
    languages: Sequence[str | None] = (
        [None] if phase.target_languages is None else phase.target_languages
    )
    units: list[Unit] = []
    for shard in phase.shards:
        for language in languages:
            units.append(
                Unit(
                    unit_id=unit_id(phase.phase, language, shard.first_line_id),
                    phase_index=phase_index,
                    order=len(units),
                    phase=phase,
                    shard=shard,
                    language=language,
                )
            )
    return units
