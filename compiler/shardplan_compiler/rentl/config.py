"""rentl 0.1.8's configuration, as rentl reads it (from the facts in rentl-0.1.8.md).

These models say what rentl accepts, not what shardplan wants: like rentl's
own, they are strict (no coercion: `"10"` is not a number), strip
whitespace from strings, and ignore unknown keys (rentl drops them
silently; `findings` reports them). Only the parts the import carries are
modelled field by field; the tables shardplan does not use are kept as plain
data so that rentl's own checks of them stay rentl's business.

The cross-field rules (phase order, agents, sizes per strategy) are not
validators here but `findings`, so that every one of them is reported at
its own position in one run, where rentl stops at the first.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from shardplan_schemas.primitives import LANGUAGE_PATTERN, PhaseName, SourceFormat, Strategy

RentlLanguage = Annotated[str, StringConstraints(strip_whitespace=True, pattern=LANGUAGE_PATTERN)]
PositiveInt = Annotated[int, Field(gt=0)]

DEFAULT_EXECUTION: dict[PhaseName, tuple[Strategy, int]] = {
    "context": ("scene", 1),
    "pretranslation": ("chunk", 10),
    "translate": ("chunk", 10),
    "qa": ("chunk", 10),
    "edit": ("chunk", 10),
}
"""rentl's sharding of a phase that has no `execution` table: (strategy, batch or chunk size)."""

NO_SHARD_PHASES: frozenset[PhaseName] = frozenset({"ingest", "export"})
"""Phases rentl runs without a shard plan; an `execution` table on them is ignored."""

RENTL_RETRY_DEFAULTS = {"max_retries": 3, "backoff_s": 1.0, "max_backoff_s": 30.0}
"""rentl's retry values when `[retry]` leaves them out."""


class _RentlModel(BaseModel):
    """As rentl's models: strict types, stripped strings, unknown keys ignored."""

    model_config = ConfigDict(strict=True, str_strip_whitespace=True, extra="ignore")


class RentlPaths(_RentlModel):
    """`[project.paths]`."""

    workspace_dir: str = Field(
        min_length=1, description="Project workspace, relative to the config file."
    )
    input_path: str = Field(min_length=1, description="Source file, relative to workspace_dir.")
    output_dir: str = Field(min_length=1, description="Export outputs (not carried).")
    logs_dir: str = Field(min_length=1, description="JSONL logs (not carried).")


class RentlFormats(_RentlModel):
    """`[project.formats]`."""

    input_format: SourceFormat = Field(description="Format of the source file.")
    output_format: SourceFormat = Field(description="Format of the exports (not carried).")


class RentlLanguages(_RentlModel):
    """`[project.languages]`."""

    source_language: RentlLanguage = Field(description="Language of the script.")
    target_languages: list[RentlLanguage] = Field(
        min_length=1, description="Languages to translate into."
    )


class RentlProject(_RentlModel):
    """`[project]`."""

    schema_version: dict[str, JsonValue] = Field(
        description="rentl's config schema version (not carried)."
    )
    project_name: str = Field(min_length=1, description="Project name.")
    paths: RentlPaths = Field(description="Where the project's files are.")
    formats: RentlFormats = Field(description="Input and output formats.")
    languages: RentlLanguages = Field(description="Source and target languages.")


class RentlExecution(_RentlModel):
    """A phase's `execution` table: its sharding and its cap."""

    strategy: Strategy = Field(
        default="full", description="Sharding strategy; rentl's default is full."
    )
    chunk_size: PositiveInt | None = Field(default=None, description="Lines per chunk shard.")
    scene_batch_size: PositiveInt | None = Field(default=None, description="Scene runs a shard.")
    route_batch_size: PositiveInt | None = Field(default=None, description="Route runs a shard.")
    max_parallel_agents: PositiveInt | None = Field(
        default=None, description="Shards run at once; unset, rentl runs one at a time."
    )


class RentlPhase(_RentlModel):
    """One `[[pipeline.phases]]` entry."""

    phase: PhaseName = Field(description="Phase name.")
    enabled: bool = Field(default=True, description="Whether the phase runs.")
    agents: list[Annotated[str, StringConstraints(strip_whitespace=True)]] | None = Field(
        default=None, description="Agents the phase runs."
    )
    model: dict[str, JsonValue] | None = Field(default=None, description="Model (not carried).")
    concurrency: dict[str, JsonValue] | None = Field(
        default=None, description="Phase concurrency; rentl does not apply it (not carried)."
    )
    retry: dict[str, JsonValue] | None = Field(
        default=None, description="Phase retry overrides (not carried)."
    )
    execution: RentlExecution | None = Field(
        default=None, description="Sharding; absent, rentl's per-phase defaults."
    )
    parameters: dict[str, JsonValue] | None = Field(
        default=None, description="Agent parameters (not carried)."
    )


class RentlPipeline(_RentlModel):
    """`[pipeline]`."""

    default_model: dict[str, JsonValue] | None = Field(
        default=None, description="Model of phases without their own (not carried)."
    )
    phases: list[RentlPhase] = Field(min_length=1, description="The phases, in canonical order.")


class RentlRetry(_RentlModel):
    """`[retry]`."""

    max_retries: Annotated[int, Field(ge=0)] = Field(
        default=3, description="Retries after the first attempt."
    )
    backoff_s: Annotated[float, Field(gt=0)] = Field(
        default=1.0, description="First retry delay, in seconds."
    )
    max_backoff_s: Annotated[float, Field(gt=0)] = Field(
        default=30.0, description="Retry delay bound; rentl 0.1.8 does not apply it."
    )


class RentlConcurrency(_RentlModel):
    """`[concurrency]`: read by rentl, applied by nothing at run time."""

    max_parallel_requests: Annotated[int, Field(ge=1)] = Field(
        default=8, description="Not applied by rentl 0.1.8."
    )
    max_parallel_scenes: Annotated[int, Field(ge=1)] = Field(
        default=4, description="Not applied by rentl 0.1.8."
    )


class RentlConfig(_RentlModel):
    """A whole `rentl.toml`."""

    project: RentlProject = Field(description="The project.")
    pipeline: RentlPipeline = Field(description="The phases.")
    retry: RentlRetry | None = Field(default=None, description="The retry policy.")
    concurrency: RentlConcurrency | None = Field(
        default=None, description="Global concurrency (not applied)."
    )
    logging: dict[str, JsonValue] | None = Field(default=None, description="Not carried.")
    endpoint: dict[str, JsonValue] | None = Field(default=None, description="Not carried.")
    endpoints: dict[str, JsonValue] | None = Field(default=None, description="Not carried.")
    cache: dict[str, JsonValue] | None = Field(default=None, description="Not carried.")
    agents: dict[str, JsonValue] | None = Field(default=None, description="Not carried.")


KNOWN_KEYS: dict[str, type[BaseModel]] = {
    "": RentlConfig,
    "project": RentlProject,
    "project.paths": RentlPaths,
    "project.formats": RentlFormats,
    "project.languages": RentlLanguages,
    "pipeline": RentlPipeline,
    "pipeline.phases": RentlPhase,
    "pipeline.phases.execution": RentlExecution,
    "retry": RentlRetry,
    "concurrency": RentlConcurrency,
}
"""The tables whose keys rentl reads field by field, by dotted name (array indexes dropped)."""

NOT_CARRIED: tuple[tuple[str, str], ...] = (
    ("project.schema_version", "`schema_version`"),
    ("project.paths.output_dir", "`output_dir`"),
    ("project.paths.logs_dir", "`logs_dir`"),
    ("project.formats.output_format", "`output_format`"),
    ("logging", "`[logging]`"),
    ("endpoint", "`[endpoint]`"),
    ("endpoints", "`[endpoints]`"),
    ("pipeline.default_model", "`[pipeline.default_model]`"),
    ("pipeline.phases.model", "a phase's `model`"),
    ("pipeline.phases.parameters", "a phase's `parameters`"),
    ("pipeline.phases.retry", "a phase's `retry`"),
    ("pipeline.phases.concurrency", "a phase's `concurrency` (rentl does not apply it either)"),
    ("concurrency", "`[concurrency]` (rentl does not apply it either)"),
    ("cache", "`[cache]`"),
    ("agents", "`[agents]`"),
)
"""What shardplan does not carry into the spec: it plans sharding, not models or logging."""
