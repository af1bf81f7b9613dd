"""The shard plan (DESIGN §5): the artifact the compiler writes and the executor replays.

These models are the only thing the compiler and the executor share. Every
value is a string, integer, boolean, null, list or object (never a float), so
the canonical JSON that `plan_id` hashes is unambiguous.

Format 2 keeps per shard only what cannot be derived: its key, its slice and
its fingerprint. The first line id is the key's suffix; the last line id,
scenes and routes are in the source, which every reader of a plan has at hand
(the executor must read it anyway). At rentl's defaults a million-line script
has about 425,000 shards, and format 1's derived fields made its plan 122 MB,
over what GitHub accepts.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shardplan_schemas.primitives import (
    LanguageCode,
    PhaseName,
    Sha256Hex,
    SourceFormat,
    Strategy,
)
from shardplan_schemas.vocabulary import FINGERPRINT_PATTERN, ID_PATTERN, PHASE_ORDER, Boundaries

PLAN_FORMAT = "shardplan/2"
PLAN_ID_PATTERN = r"^sha256:[0-9a-f]{64}$"
SHARD_KEY_PATTERN = "^(?:" + "|".join(PHASE_ORDER) + "):" + ID_PATTERN.removeprefix("^")
"""`<phase>:<line id>`: a phase name, a colon, and a line id (so never a path)."""

ShardKey = Annotated[
    str,
    StringConstraints(pattern=SHARD_KEY_PATTERN, max_length=220),
    Field(
        description="`<phase>:<line id>`, the id of the shard's first source line: stable "
        "across edits elsewhere.",
        examples=["translate:scene_001_0001"],
    ),
]
ShardFingerprint = Annotated[
    str,
    StringConstraints(pattern=FINGERPRINT_PATTERN),
    Field(description="First 128 bits of a SHA-256, as 32 lowercase hex characters."),
]

NonNegativeInt = Annotated[int, Field(ge=0)]


class _PlanModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Generator(_PlanModel):
    """The tool that wrote the plan."""

    name: str = Field(description="Generator name, `shardplan`.")
    version: str = Field(description="Generator version.")


class PlanSpecRef(_PlanModel):
    """The spec the plan was compiled from."""

    path: str = Field(description="Spec path relative to the plan's directory, `/`-separated.")
    sha256: Sha256Hex = Field(description="SHA-256 of the spec file's bytes.")


class PlanSourceRef(_PlanModel):
    """The source file the plan shards."""

    path: str = Field(description="Source path relative to the plan's directory, `/`-separated.")
    format: SourceFormat = Field(description="How the source file is read.")
    sha256: Sha256Hex = Field(description="SHA-256 of the source file's bytes.")
    line_count: NonNegativeInt = Field(description="Number of source lines.")


class RunPolicy(_PlanModel):
    """Retry and failure settings of the spec, in whole milliseconds."""

    max_retries: NonNegativeInt = Field(description="Retries after a unit's first attempt.")
    backoff_ms: NonNegativeInt = Field(
        description="Delay before the first retry; doubles each retry."
    )
    max_backoff_ms: NonNegativeInt = Field(description="Upper bound of the delay between retries.")
    max_consecutive_failures: int = Field(
        gt=0, description="Failed units in a row that abort the phase."
    )


class ResolvedExecution(_PlanModel):
    """A phase's execution after defaults are applied."""

    strategy: Strategy = Field(description="Sharding strategy.")
    boundaries: Boundaries = Field(
        description="`fixed`: boundaries by position (DESIGN §4); `content`: by line ids, so an "
        "insert or delete moves no boundary outside its neighbourhood (§8)."
    )
    chunk_size: int | None = Field(gt=0, description="Lines per shard (`chunk` only).")
    scene_batch_size: int | None = Field(gt=0, description="Scene runs per shard (`scene` only).")
    route_batch_size: int | None = Field(gt=0, description="Route runs per shard (`route` only).")
    max_parallel_agents: int = Field(gt=0, description="Cap on this phase's units running at once.")


class Shard(_PlanModel):
    """A contiguous slice `[start, end)` of the source lines."""

    key: ShardKey
    start: NonNegativeInt = Field(description="Index of the shard's first line.")
    end: int = Field(gt=0, description="Index one past the shard's last line.")
    sha256: ShardFingerprint = Field(
        description="Fingerprint of what decides the shard's output: its lines, the phase, "
        "its agents, its strategy and sizes (not the cap, not its position)."
    )

    @property
    def line_count(self) -> int:
        """`end - start`."""
        return self.end - self.start

    @property
    def first_line_id(self) -> str:
        """The line id the key names. Trust it for file names only once checked against the source."""
        return self.key.partition(":")[2]


class PlanPhase(_PlanModel):
    """One phase of the plan, with its shards listed once for every language."""

    phase: PhaseName = Field(description="Phase name.")
    target_languages: list[LanguageCode] | None = Field(
        description="Languages the phase runs once per (translate/qa/edit/export); null otherwise."
    )
    enabled: bool = Field(description="A disabled phase has no shards and runs nothing.")
    agents: list[str] = Field(description="Agents the phase runs.")
    execution: ResolvedExecution = Field(description="Resolved strategy, sizes and cap.")
    shard_count: NonNegativeInt = Field(description="Number of shards.")
    shards: list[Shard] = Field(description="The shards, in order; they partition the lines.")


class ShardPlan(_PlanModel):
    """A compiled shard plan, format `shardplan/2`."""

    model_config = ConfigDict(title="shardplan shard plan")

    format: Literal["shardplan/2"] = Field(description="Plan format identifier.")
    plan_id: str = Field(
        pattern=PLAN_ID_PATTERN,
        description="`sha256:` + hex SHA-256 of the canonical JSON of the plan without `plan_id`.",
    )
    generator: Generator = Field(description="The tool and version that wrote the plan.")
    spec: PlanSpecRef = Field(description="The spec the plan was compiled from.")
    source: PlanSourceRef = Field(description="The source file the plan shards.")
    run_policy: RunPolicy = Field(description="Retry and failure settings for the executor.")
    phases: list[PlanPhase] = Field(description="Phases in execution order.")
