"""The numbers `shardplan show` prints about a plan: per phase, what will run and how evenly."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shardplan_compiler.sharding import size_stats
from shardplan_schemas.plan import ShardPlan


@dataclass(frozen=True)
class PhaseStats:
    """One phase of a plan, as a reviewer wants to see it before a run."""

    phase: str
    enabled: bool
    strategy: str
    sizes: dict[str, int]
    target_languages: list[str] | None
    agents: list[str]
    shards: int
    units: int
    cap: int
    min_lines: int
    median_lines: float
    max_lines: int
    skew: float
    boundaries: str = "fixed"


@dataclass(frozen=True)
class PlanSummary:
    """A plan's identity, the files it reads, and its phases."""

    plan_id: str
    spec_path: str
    spec_file: str
    spec_sha256: str
    source_path: str
    source_file: str
    source_format: str
    source_sha256: str
    line_count: int
    phases: list[PhaseStats]

    @property
    def total_units(self) -> int:
        return sum(phase.units for phase in self.phases)


def resolve_recorded(plan_dir: Path, recorded: str) -> Path:
    """A path the plan records (relative to the plan's directory) as a path from here."""
    path = Path(recorded)
    return path if path.is_absolute() else Path(os.path.normpath(plan_dir / path))


def summarize_plan(plan: ShardPlan, plan_dir: Path) -> PlanSummary:
    phases: list[PhaseStats] = []
    for phase in plan.phases:
        stats = size_stats([shard.line_count for shard in phase.shards])
        execution = phase.execution
        sizes = {
            name: value
            for name, value in (
                ("chunk_size", execution.chunk_size),
                ("scene_batch_size", execution.scene_batch_size),
                ("route_batch_size", execution.route_batch_size),
            )
            if value is not None
        }
        languages = len(phase.target_languages) if phase.target_languages is not None else 1
        phases.append(
            PhaseStats(
                phase=phase.phase,
                enabled=phase.enabled,
                strategy=execution.strategy,
                sizes=sizes,
                target_languages=phase.target_languages,
                agents=list(phase.agents),
                shards=phase.shard_count,
                units=phase.shard_count * languages if phase.enabled else 0,
                cap=execution.max_parallel_agents,
                min_lines=stats.minimum,
                median_lines=stats.median,
                max_lines=stats.maximum,
                skew=stats.skew,
                boundaries=execution.boundaries,
            )
        )
    return PlanSummary(
        plan_id=plan.plan_id,
        spec_path=plan.spec.path,
        spec_file=resolve_recorded(plan_dir, plan.spec.path).as_posix(),
        spec_sha256=plan.spec.sha256,
        source_path=plan.source.path,
        source_file=resolve_recorded(plan_dir, plan.source.path).as_posix(),
        source_format=plan.source.format,
        source_sha256=plan.source.sha256,
        line_count=plan.source.line_count,
        phases=phases,
    )
