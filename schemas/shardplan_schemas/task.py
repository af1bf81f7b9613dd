"""What a handler receives: one unit of work (a shard in one language)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
    lines: Sequence[SourceLine] = Field(
        description="The shard's source lines, in order (a read-only sequence: the executor "
        "reads them from the source as the handler iterates)."
    )
    inputs: Mapping[str, Sequence[Record]] = Field(
        description="Per earlier enabled phase, in plan order: the records of its units in this "
        "unit's language (or without one) that concern this unit: whose `line_id` is one of its "
        "lines; without a `line_id`, whose `scene_id` or `route_id` is one of its scenes or "
        "routes; and every record naming none of these. Read-only sequences, read from the "
        "outputs as the handler iterates."
    )
    plan_id: str = Field(description="Id of the plan being run.")
