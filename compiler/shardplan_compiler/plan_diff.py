"""Compare two plans: which shards must run again and why, and every configuration change.

A shard is unchanged when a shard with the same key (`<phase>:<line id>`) has
the same fingerprint in both plans, wherever it sits: lines inserted
elsewhere move a shard without changing what it produces. Every other shard
is dirty; `diff_reasons` pairs it with the old shard that shares most of its
lines and says why (DESIGN §8).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import JsonValue

from shardplan_compiler.diff_reasons import Reason, ScriptChange, ShardChange, dirty_shards
from shardplan_compiler.diff_sources import ScriptLines
from shardplan_compiler.sources import SourceTable
from shardplan_schemas.plan import PlanPhase, ShardPlan
from shardplan_schemas.primitives import PHASE_ORDER


@dataclass(frozen=True)
class FieldChange:
    """One setting that differs, e.g. `execution.chunk_size: 10 -> 25`."""

    field: str
    old: JsonValue
    new: JsonValue

    def as_json(self) -> dict[str, JsonValue]:
        return {"field": self.field, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class PhaseDiff:
    phase: str
    status: str  # "same", "modified", "added" or "removed"
    unchanged: int
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    config: list[FieldChange] = field(default_factory=list)
    shards: list[ShardChange] = field(default_factory=list)
    """Every dirty shard with its reasons: changed and added in new-plan order, then removed."""
    boundaries: str = "fixed"
    """The new plan's boundaries for this phase (the old plan's when the phase was removed)."""
    language_factor: int = 1
    """Units per shard: the number of target languages, or 1."""
    new_languages: int = 0
    """Target languages the new plan adds: each runs every shard, unchanged ones too."""

    @property
    def units_to_run(self) -> int:
        """Units of work the new plan must run that the old plan's run did not."""
        dirty = len(self.changed) + len(self.added)
        return dirty * self.language_factor + self.unchanged * self.new_languages

    @property
    def differs(self) -> bool:
        return bool(self.changed or self.added or self.removed or self.config) or self.status in (
            "added",
            "removed",
        )

    def as_json(self) -> dict[str, JsonValue]:
        return {
            "phase": self.phase,
            "status": self.status,
            "unchanged": self.unchanged,
            "changed": list(self.changed),
            "added": list(self.added),
            "removed": list(self.removed),
            "config_changes": [change.as_json() for change in self.config],
            "shards": [shard.as_json() for shard in self.shards],
        }


@dataclass(frozen=True)
class PlanDiff:
    old_plan_id: str
    new_plan_id: str
    changes: list[FieldChange]
    phases: list[PhaseDiff]
    lines_known: bool = False
    """Both sources were read (and matched their plans), so reasons name lines."""

    @property
    def differs(self) -> bool:
        return self.old_plan_id != self.new_plan_id

    def totals(self) -> tuple[int, int, int, int]:
        """Shards unchanged, changed, added, removed over all phases."""
        return (
            sum(p.unchanged for p in self.phases),
            sum(len(p.changed) for p in self.phases),
            sum(len(p.added) for p in self.phases),
            sum(len(p.removed) for p in self.phases),
        )

    def as_json(self) -> dict[str, JsonValue]:
        unchanged, changed, added, removed = self.totals()
        return {
            "old_plan_id": self.old_plan_id,
            "new_plan_id": self.new_plan_id,
            "differs": self.differs,
            "totals": {
                "unchanged": unchanged,
                "changed": changed,
                "added": added,
                "removed": removed,
            },
            "lines_known": self.lines_known,
            "changes": [change.as_json() for change in self.changes],
            "phases": [phase.as_json() for phase in self.phases],
        }


def _flat(prefix: str, value: JsonValue) -> dict[str, JsonValue]:
    if isinstance(value, dict):
        flat: dict[str, JsonValue] = {}
        for key, item in value.items():
            flat.update(_flat(f"{prefix}.{key}" if prefix else key, item))
        return flat
    return {prefix: value}


def _changes(old: dict[str, JsonValue], new: dict[str, JsonValue]) -> list[FieldChange]:
    old_flat = _flat("", old)
    new_flat = _flat("", new)
    return [
        FieldChange(key, old_flat.get(key), new_flat.get(key))
        for key in sorted(set(old_flat) | set(new_flat))
        if old_flat.get(key) != new_flat.get(key)
    ]


def _phase_config(phase: PlanPhase) -> dict[str, JsonValue]:
    return {
        "enabled": phase.enabled,
        "agents": list(phase.agents),
        "target_languages": list(phase.target_languages)
        if phase.target_languages is not None
        else None,
        "execution": phase.execution.model_dump(mode="json"),
    }


__all__ = ["FieldChange", "PhaseDiff", "PlanDiff", "Reason", "ShardChange", "diff_plans"]

FINGERPRINT_FIELDS = (
    "enabled",
    "agents",
    "execution.strategy",
    "execution.boundaries",
    "execution.chunk_size",
    "execution.scene_batch_size",
    "execution.route_batch_size",
)
"""Phase settings that decide what its shards hold or produce (not the cap, not languages)."""


def _phase_diff(
    name: str,
    old: PlanPhase | None,
    new: PlanPhase | None,
    script: ScriptChange | None,
) -> PhaseDiff:
    config = (
        _changes(_phase_config(old), _phase_config(new))
        if old is not None and new is not None
        else []
    )
    status = "added" if old is None else "removed" if new is None else "same"
    fields = (
        tuple(change.field for change in config if change.field in FINGERPRINT_FIELDS)
        if old is not None and new is not None
        else ("phase",)
    )
    shown = new if new is not None else old
    assert shown is not None
    shards, unchanged = dirty_shards(old, new, fields, script)
    changed = [shard.key for shard in shards if shard.status == "changed"]
    added = [shard.key for shard in shards if shard.status == "added"]
    removed = [shard.key for shard in shards if shard.status == "removed"]
    if status == "same" and (shards or config):
        status = "modified"
    languages = shown.target_languages
    old_languages = set(old.target_languages or []) if old is not None else set()
    return PhaseDiff(
        name,
        status,
        unchanged,
        changed,
        added,
        removed,
        config,
        shards,
        boundaries=shown.execution.boundaries,
        language_factor=len(languages) if languages is not None else 1,
        new_languages=len(set(languages or []) - old_languages) if new is not None else 0,
    )


def _lines(source: SourceTable | ScriptLines) -> ScriptLines:
    return ScriptLines.of_table(source) if isinstance(source, SourceTable) else source


def diff_plans(
    old: ShardPlan,
    new: ShardPlan,
    old_source: SourceTable | ScriptLines | None = None,
    new_source: SourceTable | ScriptLines | None = None,
) -> PlanDiff:
    """Every difference between two plans, phases in execution order.

    With both plans' sources (read and checked against the plans' sha256),
    reasons name the lines that were inserted, deleted or edited; without
    them, dirty shards are paired by key and their reason is `content_changed`.
    """
    old_phases = {phase.phase: phase for phase in old.phases}
    new_phases = {phase.phase: phase for phase in new.phases}
    names = [name for name in PHASE_ORDER if name in old_phases or name in new_phases]
    top_old: dict[str, JsonValue] = {
        "generator": old.generator.model_dump(mode="json"),
        "spec": old.spec.model_dump(mode="json"),
        "source": old.source.model_dump(mode="json"),
        "run_policy": old.run_policy.model_dump(mode="json"),
    }
    top_new: dict[str, JsonValue] = {
        "generator": new.generator.model_dump(mode="json"),
        "spec": new.spec.model_dump(mode="json"),
        "source": new.source.model_dump(mode="json"),
        "run_policy": new.run_policy.model_dump(mode="json"),
    }
    script = (
        ScriptChange(_lines(old_source), _lines(new_source))
        if old_source is not None and new_source is not None
        else None
    )
    return PlanDiff(
        old_plan_id=old.plan_id,
        new_plan_id=new.plan_id,
        changes=_changes(top_old, top_new),
        phases=[
            _phase_diff(name, old_phases.get(name), new_phases.get(name), script) for name in names
        ],
        lines_known=script is not None,
    )
