"""The one diagnostic model every check reports through.

Loading, validation, source reading, sharding and plan checks all produce
`Diagnostic` values; renderers (text, JSON, GitHub, SARIF) only format them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shardplan_schemas.vocabulary import Severity

__all__ = ["Diagnostic", "Severity"]


class Diagnostic(BaseModel):
    """A finding about one place in one file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="File the finding is about, as given on the command line.")
    line: int = Field(ge=1, description="1-based line of the finding.")
    column: int = Field(ge=1, description="1-based column of the finding.")
    severity: Severity = Field(
        description="`error` fails the check; `warning` fails only with `--strict`."
    )
    code: str = Field(
        pattern=r"^SP[0-9]{3}$",
        description="Stable diagnostic code, documented in docs/diagnostics.md.",
    )
    message: str = Field(description="What is wrong, why, and what to do about it.")
    pointer: str = Field(
        description="RFC 6901 JSON pointer to the offending value, e.g. "
        "`/phases/3/execution/chunk_size`; empty for the whole document."
    )
