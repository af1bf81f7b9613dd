"""Events the executor writes to `events.jsonl`, one JSON object a line.

Each event is validated by its model before it is written, so a consumer can
rely on `events.schema.json`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from shardplan_schemas.primitives import LanguageCode, PhaseName, Strategy

RunStatus = Literal["completed", "failed", "aborted"]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timestamp: str = Field(description="When the event happened: ISO 8601 in UTC.")


class RunStarted(_Event):
    """The executor verified the plan and starts running it."""

    event: Literal["run_started"] = Field(description="Event name.")
    plan_id: str = Field(description="The plan's id.")
    backend: str = Field(description="`local` or `dask`.")
    handler: str = Field(description="Name of the handler that runs the units.")
    resumed_units: int = Field(ge=0, description="Units already finished by an earlier run.")


class PhaseStarted(_Event):
    """A phase starts."""

    event: Literal["phase_started"] = Field(description="Event name.")
    phase: PhaseName = Field(description="Phase name.")
    strategy: Strategy = Field(description="Sharding strategy of the phase.")
    shard_count: int = Field(ge=0, description="Shards in the phase.")
    unit_count: int = Field(ge=0, description="Units of work: shards times languages.")
    max_parallel_agents: int = Field(gt=0, description="Cap on units running at once.")
    target_languages: list[LanguageCode] | None = Field(
        description="Languages the phase runs for; null for phases without languages."
    )


class PhaseSkipped(_Event):
    """A disabled phase is skipped."""

    event: Literal["phase_skipped"] = Field(description="Event name.")
    phase: PhaseName = Field(description="Phase name.")
    reason: str = Field(description="Why the phase did not run.")


class UnitCompleted(_Event):
    """A unit of work finished and its output is journaled."""

    event: Literal["unit_completed"] = Field(description="Event name.")
    unit_id: str = Field(
        description="`<phase>.<lang>:<first_line_id>` or `<phase>:<first_line_id>`."
    )
    attempt: int = Field(ge=1, description="Attempt that succeeded (1 is the first).")
    records: int = Field(ge=0, description="Records the handler returned.")
    duration_ms: int = Field(ge=0, description="Wall time of the successful attempt.")


class UnitReused(_Event):
    """A unit's output was taken from an earlier run (`run --reuse`) instead of a handler call.

    Its fingerprint (shard sha256, language, handler, inputs digest) matched a
    finished unit there, whose output passed its checksum; the output is now
    written and journaled in this run directory like a fresh one.
    """

    event: Literal["unit_reused"] = Field(description="Event name.")
    unit_id: str = Field(description="The unit's id.")
    source: str = Field(
        description="The earlier run directory the output came from, as given to --reuse."
    )
    records: int = Field(ge=0, description="Records in the reused output.")


class UnitRetried(_Event):
    """An attempt of a unit failed and the unit will be tried again."""

    event: Literal["unit_retried"] = Field(description="Event name.")
    unit_id: str = Field(description="The unit's id.")
    attempt: int = Field(ge=1, description="The attempt that failed.")
    error: str = Field(description="Error type and message of the failed attempt.")
    delay_ms: int = Field(ge=0, description="Wait before the next attempt.")


class UnitFailed(_Event):
    """A unit failed after all its attempts."""

    event: Literal["unit_failed"] = Field(description="Event name.")
    unit_id: str = Field(description="The unit's id.")
    attempts: int = Field(ge=1, description="Attempts made.")
    error: str = Field(description="Error type and message of the last attempt.")
    traceback: str | None = Field(default=None, description="Traceback of the last attempt.")


class PhaseCompleted(_Event):
    """A phase ended."""

    event: Literal["phase_completed"] = Field(description="Event name.")
    phase: PhaseName = Field(description="Phase name.")
    status: RunStatus = Field(description="`completed`, `failed` (some unit failed) or `aborted`.")
    completed: int = Field(ge=0, description="Units run (handler called) and finished in this run.")
    reused: int = Field(
        default=0, ge=0, description="Units whose output was taken from a --reuse directory."
    )
    resumed: int = Field(ge=0, description="Units already finished by an earlier run.")
    failed: int = Field(ge=0, description="Units that failed.")
    cancelled: int = Field(ge=0, description="Units not run because the phase was aborted.")
    duration_ms: int = Field(ge=0, description="Wall time of the phase.")


class RunCompleted(_Event):
    """The run ended."""

    event: Literal["run_completed"] = Field(description="Event name.")
    status: RunStatus = Field(description="`completed`, `failed` or `aborted`.")
    completed: int = Field(ge=0, description="Units run (handler called) and finished in this run.")
    reused: int = Field(
        default=0, ge=0, description="Units whose output was taken from a --reuse directory."
    )
    resumed: int = Field(ge=0, description="Units already finished by an earlier run.")
    failed: int = Field(ge=0, description="Units that failed.")
    cancelled: int = Field(ge=0, description="Units not run.")
    duration_ms: int = Field(ge=0, description="Wall time of the run.")


Event = Annotated[
    RunStarted
    | PhaseStarted
    | PhaseSkipped
    | UnitCompleted
    | UnitReused
    | UnitRetried
    | UnitFailed
    | PhaseCompleted
    | RunCompleted,
    Field(discriminator="event"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
