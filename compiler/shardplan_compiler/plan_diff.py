"""Compare two plans: shards matched by key, and every configuration change (DESIGN §6).

A shard is unchanged when a shard with the same key (`<phase>:<first_line_id>`)
has the same fingerprint in both plans, wherever it sits: lines inserted
elsewhere move a shard without changing what it produces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import JsonValue

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
        }


@dataclass(frozen=True)
class PlanDiff:
    old_plan_id: str
    new_plan_id: str
    changes: list[FieldChange]
    phases: list[PhaseDiff]

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


def _phase_diff(name: str, old: PlanPhase | None, new: PlanPhase | None) -> PhaseDiff:
    if old is None:
        assert new is not None
        return PhaseDiff(name, "added", 0, added=[s.key for s in new.shards])
    if new is None:
        return PhaseDiff(name, "removed", 0, removed=[s.key for s in old.shards])
    old_shards = {shard.key: shard.sha256 for shard in old.shards}
    new_shards = {shard.key: shard.sha256 for shard in new.shards}
    changed = [
        key for key, sha in new_shards.items() if key in old_shards and old_shards[key] != sha
    ]
    added = [key for key in new_shards if key not in old_shards]
    removed = [key for key in old_shards if key not in new_shards]
    unchanged = sum(1 for key, sha in new_shards.items() if old_shards.get(key) == sha)
    config = _changes(_phase_config(old), _phase_config(new))
    status = "modified" if changed or added or removed or config else "same"
    return PhaseDiff(name, status, unchanged, changed, added, removed, config)


def diff_plans(old: ShardPlan, new: ShardPlan) -> PlanDiff:
    """Every difference between two plans, phases in execution order."""
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
    return PlanDiff(
        old_plan_id=old.plan_id,
        new_plan_id=new.plan_id,
        changes=_changes(top_old, top_new),
        phases=[_phase_diff(name, old_phases.get(name), new_phases.get(name)) for name in names],
    )
