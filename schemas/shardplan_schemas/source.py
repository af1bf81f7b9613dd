"""Source lines (the script) and translated lines (what export writes)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from shardplan_schemas.primitives import LanguageCode, LineId, RouteId, SceneId


class SourceLine(BaseModel):
    """One line of the script, as read from JSONL, CSV or TXT."""

    model_config = ConfigDict(extra="forbid", strict=True, title="SourceLine")

    line_id: LineId
    scene_id: SceneId | None = Field(
        default=None, description="Scene the line belongs to; absent for lines outside scenes."
    )
    route_id: RouteId | None = Field(
        default=None, description="Route the line belongs to; required by the `route` strategy."
    )
    speaker: str | None = Field(
        default=None, max_length=500, description="Who speaks the line; absent for narration."
    )
    text: str = Field(min_length=1, description="The line's text in the source language.")
    metadata: dict[str, JsonValue] | None = Field(
        default=None, description="Free-form data carried along unchanged (not used for sharding)."
    )


class TranslatedLine(BaseModel):
    """One line in a target language, as produced by translate/edit and written by export."""

    model_config = ConfigDict(extra="forbid", strict=True, title="TranslatedLine")

    line_id: LineId
    scene_id: SceneId | None = Field(default=None, description="Scene of the source line.")
    route_id: RouteId | None = Field(default=None, description="Route of the source line.")
    speaker: str | None = Field(default=None, description="Speaker of the source line.")
    language: LanguageCode = Field(description="Target language of `text`.")
    source_text: str = Field(description="The source line's text.")
    text: str = Field(description="The translated text.")
    phase: str = Field(description="Phase that produced this text, e.g. `translate` or `edit`.")
