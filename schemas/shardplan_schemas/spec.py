"""The pipeline spec: what users write in `shardplan.yaml`.

Field types carry every rule a type can express (strict types, bounds,
patterns); the cross-field rules of DESIGN §2 live in `spec_rules` so the
compiler can report each of them at its exact YAML position, and are also
enforced here by an after-validator so the model alone never accepts an
invalid spec.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from shardplan_schemas.primitives import (
    MAX_CAP,
    MAX_SIZE,
    AgentName,
    Boundaries,
    LanguageCode,
    PhaseName,
    SourceFormat,
    Strategy,
)
from shardplan_schemas.spec_rules import spec_rule_violations

PositiveSize = Annotated[int, Field(gt=0, le=MAX_SIZE)]
PositiveCap = Annotated[int, Field(gt=0, le=MAX_CAP)]

DEFAULT_MAX_PARALLEL_AGENTS = 8


class _UserConfig(BaseModel):
    """Base of every user-written model: unknown keys and coercions are errors."""

    model_config = ConfigDict(extra="forbid", strict=True)


class SourceConfig(_UserConfig):
    """Where the source lines come from."""

    path: str = Field(
        min_length=1,
        max_length=4096,
        description="Path of the source file, relative to the spec file.",
        examples=["script.jsonl"],
    )
    format: SourceFormat | None = Field(
        default=None,
        description="File format: `jsonl` (one SourceLine object a line), `csv` (header with "
        "`line_id`, `text`, optional `scene_id`, `route_id`, `speaker`) or `txt` (one text a "
        "line). Omitted: taken from the file extension.",
    )


class LanguagesConfig(_UserConfig):
    """The language of the script and the languages to translate it into."""

    source_language: LanguageCode = Field(description="Language of the source lines, e.g. `ja`.")
    target_languages: list[LanguageCode] = Field(
        min_length=1,
        max_length=200,
        description="Languages to translate into; unique, and not the source language. "
        "translate, qa, edit and export run once per target language.",
        examples=[["en", "fr"]],
    )


class ConcurrencyConfig(_UserConfig):
    """Limits that apply to every phase unless a phase overrides them."""

    max_parallel_agents: PositiveCap = Field(
        default=DEFAULT_MAX_PARALLEL_AGENTS,
        description="Default cap on shards running at once in a phase (per phase, across "
        "languages). A phase's `execution.max_parallel_agents` overrides it.",
    )
    max_consecutive_failures: PositiveCap = Field(
        default=3,
        description="Abort a phase at once when this many units in a row have failed "
        "after their retries.",
    )


class RetryConfig(_UserConfig):
    """How a failing unit of work is retried."""

    max_retries: int = Field(
        default=2, ge=0, le=100, description="Retries after the first attempt of a unit."
    )
    backoff_s: float = Field(
        default=1.0,
        ge=0,
        le=3600,
        description="Delay before the first retry, in seconds; doubles on each retry (with jitter).",
    )
    max_backoff_s: float = Field(
        default=60.0,
        ge=0,
        le=86400,
        description="Upper bound of the delay between retries, in seconds.",
    )


class PhaseExecutionConfig(_UserConfig):
    """How a phase splits its lines into shards and how many run at once."""

    strategy: Strategy = Field(
        default="full",
        description="`full`: one shard with every line. `scene`: runs of consecutive lines "
        "with the same scene_id, `scene_batch_size` runs a shard. `chunk`: `chunk_size` "
        "consecutive lines a shard. `route`: runs of the same route_id, `route_batch_size` "
        "runs a shard (every line needs a route_id).",
    )
    boundaries: Boundaries = Field(
        default="fixed",
        description="Where shards start. `fixed`: every `chunk_size` lines (or batch of runs), "
        "by position. `content`: where the ids of the lines (or of the runs' first lines) say, "
        "so inserting or deleting a line moves no boundary but its neighbours' and a text edit "
        "moves none: a rerun after an edit redoes only the shards it touched. The size is then "
        "the average; every shard has 1 to 4x the size. Not with strategy `full`.",
    )
    chunk_size: PositiveSize | None = Field(
        default=None, description="Lines per shard; required by and only allowed with `chunk`."
    )
    scene_batch_size: PositiveSize | None = Field(
        default=None, description="Scene runs per shard (default 1); only allowed with `scene`."
    )
    route_batch_size: PositiveSize | None = Field(
        default=None, description="Route runs per shard (default 1); only allowed with `route`."
    )
    max_parallel_agents: PositiveCap | None = Field(
        default=None,
        description="Cap on shards of this phase running at once; overrides "
        "`concurrency.max_parallel_agents`. Decides scheduling only, never shard contents.",
    )


class PhaseConfig(_UserConfig):
    """One phase of the pipeline."""

    phase: PhaseName = Field(
        description="Phase name; phases appear at most once, in the order ingest, context, "
        "pretranslation, translate, qa, edit, export."
    )
    enabled: bool = Field(
        default=True,
        description="A disabled phase stays in the plan, marked disabled, with no shards.",
    )
    agents: list[AgentName] | None = Field(
        default=None,
        max_length=100,
        description="Agents this phase runs; required (non-empty) on enabled context, "
        "pretranslation, translate, qa and edit phases; not allowed on ingest and export.",
    )
    execution: PhaseExecutionConfig | None = Field(
        default=None,
        description="Sharding and cap. Omitted: context uses `scene` (1 scene a shard); "
        "pretranslation, translate, qa and edit use `chunk` of 10; ingest and export run as one "
        "`full` unit.",
    )


class PipelineSpec(_UserConfig):
    """A shardplan pipeline spec (`shardplan.yaml` or `<name>.shardplan.yaml`)."""

    model_config = ConfigDict(title="shardplan pipeline spec")

    version: Literal[1] = Field(description="Spec format version; `1` is the only one.")
    project: str = Field(
        min_length=1, max_length=200, description="Project name, shown in plans and reports."
    )
    source: SourceConfig = Field(description="The source lines to shard.")
    languages: LanguagesConfig = Field(description="Source and target languages.")
    concurrency: ConcurrencyConfig = Field(
        default_factory=ConcurrencyConfig, description="Default caps and the failure budget."
    )
    retry: RetryConfig = Field(
        default_factory=RetryConfig, description="Retry policy for failing units."
    )
    phases: list[PhaseConfig] = Field(
        min_length=1, max_length=7, description="The phases to run, in canonical order."
    )

    @model_validator(mode="after")
    def _check_cross_field_rules(self) -> PipelineSpec:
        errors = [
            v
            for v in spec_rule_violations(self.model_dump(exclude_unset=True))
            if v.severity == "error"
        ]
        if errors:
            raise PydanticCustomError(
                "spec_rule",
                "{violations}",
                {
                    "violations": "; ".join(
                        f"{v.code} at {v.pointer_text}: {v.message}" for v in errors
                    )
                },
            )
        return self
