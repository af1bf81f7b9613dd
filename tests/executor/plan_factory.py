"""Valid shard plans for the executor's tests, built without the compiler.

The executor must not depend on the compiler, and neither should its tests:
these plans are built from the plan models with `compute_plan_id`, from a list
of source lines and simple layouts (`full`, or `chunk` of N lines). The shard
fingerprints are stand-ins (sha256 of the phase, agents, layout and lines),
which is all the executor needs: it journals them and compares them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import JsonValue

from shardplan_schemas.canonical import compute_plan_id
from shardplan_schemas.plan import PlanPhase, ShardPlan
from shardplan_schemas.primitives import PER_LANGUAGE_PHASES, PhaseName
from shardplan_schemas.source import SourceLine


@dataclass(frozen=True)
class Layout:
    """One phase of a test plan: `chunk_size=None` means one `full` shard."""

    phase: PhaseName
    chunk_size: int | None = None
    cap: int = 4
    enabled: bool = True
    agents: tuple[str, ...] = ("test_agent",)
    languages: tuple[str, ...] = field(default=("en",))


def make_lines(count: int, *, scenes_of: int = 5) -> list[SourceLine]:
    """`count` lines `line_1`.., grouped in scenes of `scenes_of` lines."""
    return [
        SourceLine(
            line_id=f"line_{n}",
            scene_id=f"scene_{(n - 1) // scenes_of + 1}",
            route_id="route_1",
            text=f"Line number {n}, with a {{name}} placeholder.",
        )
        for n in range(1, count + 1)
    ]


def write_source(path: Path, lines: Sequence[SourceLine]) -> Path:
    """Write `lines` as JSONL (absent fields left out)."""
    path.write_text(
        "".join(line.model_dump_json(exclude_none=True) + "\n" for line in lines), encoding="utf-8"
    )
    return path


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _slices(count: int, chunk_size: int | None) -> list[tuple[int, int]]:
    if count == 0:
        return []
    size = count if chunk_size is None else chunk_size
    return [(start, min(start + size, count)) for start in range(0, count, size)]


def _phase(layout: Layout, lines: Sequence[SourceLine]) -> dict[str, JsonValue]:
    shards: list[JsonValue] = []
    if layout.enabled:
        for start, end in _slices(len(lines), layout.chunk_size):
            part = lines[start:end]
            fingerprint = json.dumps(
                [layout.phase, list(layout.agents), layout.chunk_size]
                + [line.model_dump(mode="json") for line in part],
                sort_keys=True,
            )
            shards.append(
                {
                    "key": f"{layout.phase}:{part[0].line_id}",
                    "start": start,
                    "end": end,
                    "sha256": _sha256(fingerprint.encode("utf-8"))[:32],
                }
            )
    per_language = layout.phase in PER_LANGUAGE_PHASES
    return {
        "phase": layout.phase,
        "target_languages": list(layout.languages) if per_language else None,
        "enabled": layout.enabled,
        "agents": [] if layout.phase in ("ingest", "export") else list(layout.agents),
        "execution": {
            "strategy": "full" if layout.chunk_size is None else "chunk",
            "boundaries": "fixed",
            "chunk_size": layout.chunk_size,
            "scene_batch_size": None,
            "route_batch_size": None,
            "max_parallel_agents": layout.cap,
        },
        "shard_count": len(shards),
        "shards": shards,
    }


def plan_phase(layout: Layout, lines: Sequence[SourceLine]) -> PlanPhase:
    """One phase of a test plan as a model, without writing anything."""
    return PlanPhase.model_validate_json(json.dumps(_phase(layout, lines)))


def build_plan(
    directory: Path,
    lines: Sequence[SourceLine],
    layouts: Sequence[Layout],
    *,
    max_retries: int = 0,
    backoff_ms: int = 0,
    max_backoff_ms: int = 0,
    max_consecutive_failures: int = 3,
    name: str = "test.plan.json",
) -> Path:
    """Write the source and a valid plan over it into `directory`; the plan's path."""
    directory.mkdir(parents=True, exist_ok=True)
    source = write_source(directory / "script.jsonl", lines)
    content: dict[str, JsonValue] = {
        "format": "shardplan/2",
        "generator": {"name": "shardplan-tests", "version": "0"},
        "spec": {"path": "test.shardplan.yaml", "sha256": _sha256(b"spec")},
        "source": {
            "path": source.name,
            "format": "jsonl",
            "sha256": _sha256(source.read_bytes()),
            "line_count": len(lines),
        },
        "run_policy": {
            "max_retries": max_retries,
            "backoff_ms": backoff_ms,
            "max_backoff_ms": max_backoff_ms,
            "max_consecutive_failures": max_consecutive_failures,
        },
        "phases": [_phase(layout, lines) for layout in layouts],
    }
    content["plan_id"] = compute_plan_id(content)
    ShardPlan.model_validate_json(json.dumps(content))  # the factory only writes valid plans
    path = directory / name
    path.write_text(json.dumps(content, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


PIPELINE: tuple[Layout, ...] = (
    Layout("ingest"),
    Layout("context", chunk_size=5),
    Layout("translate", chunk_size=3, languages=("en", "fr")),
    Layout("qa", chunk_size=7, languages=("en", "fr")),
    Layout("edit", chunk_size=4, languages=("en", "fr")),
    Layout("export", languages=("en", "fr")),
)
"""A whole pipeline with shards of different sizes, in two languages."""
