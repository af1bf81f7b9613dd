"""What a handler receives: one unit of work (a shard in one language)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from shardplan_schemas.primitives import LanguageCode, PhaseName
from shardplan_schemas.source import SourceLine

Record = dict[str, JsonValue]
"""A handler's output record, as a JSON object."""


class ShardTask(BaseModel):
    """One unit of work handed to a handler."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phase: PhaseName = Field(description="The phase being run.")
    target_language: LanguageCode | None = Field(
        description="The unit's language for translate/qa/edit/export; None for the others."
    )
    agents: list[str] = Field(description="Agents the phase runs.")
    unit_id: str = Field(
        description="`<phase>.<lang>:<first_line_id>` or `<phase>:<first_line_id>`."
    )
    shard_key: str = Field(description="`<phase>:<first_line_id>`.")
    lines: list[SourceLine] = Field(description="The shard's source lines, in order.")
    inputs: dict[str, list[Record]] = Field(
        description="Per earlier enabled phase: the records of its units in this unit's language "
        "(or without one) whose shards overlap this shard's lines, in plan order."
    )
    plan_id: str = Field(description="Id of the plan being run.")
