"""Constrained string types shared by every model.

One definition per identifier kind keeps the spec, the source lines, the plan
and the executor's records in agreement: a `RouteId` means the same thing
wherever it appears, and its pattern shows up once in the exported schemas.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from shardplan_schemas.vocabulary import (
    ID_MAX_LENGTH,
    ID_PATTERN,
    LANGUAGE_PATTERN,
    LLM_PHASES,
    MAX_CAP,
    MAX_SIZE,
    PER_LANGUAGE_PHASES,
    PHASE_ORDER,
    SHA256_PATTERN,
    Boundaries,
    PhaseName,
    SourceFormat,
    Strategy,
)

__all__ = [
    "ID_PATTERN",
    "LANGUAGE_PATTERN",
    "LLM_PHASES",
    "MAX_CAP",
    "MAX_SIZE",
    "PER_LANGUAGE_PHASES",
    "PHASE_ORDER",
    "SHA256_PATTERN",
    "AgentName",
    "Boundaries",
    "LanguageCode",
    "LineId",
    "PhaseName",
    "RouteId",
    "SceneId",
    "Sha256Hex",
    "SourceFormat",
    "Strategy",
]

LineId = Annotated[
    str,
    StringConstraints(pattern=ID_PATTERN, max_length=ID_MAX_LENGTH),
    Field(
        description="Unique id of a source line: lowercase letters, then one or more "
        "`_<digits>` groups, e.g. `scene_001_0042`.",
        examples=["scene_001_0001"],
    ),
]
SceneId = Annotated[
    str,
    StringConstraints(pattern=ID_PATTERN, max_length=ID_MAX_LENGTH),
    Field(
        description="Id of the scene a line belongs to, e.g. `scene_001`.",
        examples=["scene_001"],
    ),
]
RouteId = Annotated[
    str,
    StringConstraints(pattern=ID_PATTERN, max_length=ID_MAX_LENGTH),
    Field(
        description="Id of the story route a line belongs to, e.g. `common_0`.",
        examples=["common_0"],
    ),
]
LanguageCode = Annotated[
    str,
    StringConstraints(pattern=LANGUAGE_PATTERN),
    Field(
        description="Language code: two lowercase letters, optionally `-` and a two-letter "
        "uppercase region, e.g. `ja`, `en`, `pt-BR`.",
        examples=["ja", "en", "pt-BR"],
    ),
]
Sha256Hex = Annotated[
    str,
    StringConstraints(pattern=SHA256_PATTERN),
    Field(description="Lowercase hex SHA-256 digest (64 characters)."),
]
AgentName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=100),
    Field(
        description="Name of an agent the handler runs for this phase, in snake_case, "
        "e.g. `direct_translator`.",
        examples=["direct_translator"],
    ),
]
