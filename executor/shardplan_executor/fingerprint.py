"""A unit's fingerprint: what decides its output, so an earlier run's output can stand in.

A unit's records depend on its shard (the shard's `sha256` covers the phase,
its agents, its sharding and its lines), its language, the handler, and the
`inputs` earlier phases produced for it (DESIGN §8). Two units with equal
fingerprints are the same handler call, so a deterministic handler would
return the same records: the output of one can be reused for the other.

The inputs are digested as the handler receives them — the canonical JSON of
the mapping `inputs_for(unit)` returns — at dispatch time, from the outputs
of this run. So a unit whose upstream reran but produced identical records
keeps its fingerprint (early cutoff), and one whose upstream output changed
does not.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from itertools import islice

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from shardplan_schemas.canonical import canonical_json
from shardplan_schemas.task import Record

DIGEST_BLOCK = 4096
"""Records encoded and hashed together."""


class UnitFingerprint(BaseModel):
    """The part of a unit's fingerprint beyond its shard's `sha256` (which the journal has)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: str | None = Field(description="The unit's target language; null for none.")
    handler: str = Field(
        description="The handler as named on the command line, with `@<version>` when the "
        "handler has a `version` attribute."
    )
    inputs_sha256: str = Field(
        description="SHA-256 (hex) of the canonical JSON of the unit's `inputs`."
    )


def handler_identity(reference: str, handler: object) -> str:
    """`reference`, plus `@<version>` when the handler carries a `version` string or integer.

    Bumping a handler's `version` is how its author says "my outputs changed":
    no output of an earlier version is then reused.
    """
    version = getattr(handler, "version", None)
    if isinstance(version, bool) or not isinstance(version, str | int):
        return reference
    return f"{reference}@{version}"


def inputs_digest(inputs: Mapping[str, Iterable[Record]]) -> str:
    """Hex SHA-256 of the canonical JSON of a task's `inputs` (sorted keys, no spaces, UTF-8).

    The bytes are those of `canonical_json({name: list(records), ...})`, but
    streamed a block of records at a time: inputs are lazy `RecordSequence`s,
    and an export unit after a `full` phase receives every record of its
    language, which as one list would be a million dicts in memory.
    """
    digest = hashlib.sha256(b"{")
    for number, name in enumerate(sorted(inputs)):  # code-point order, as canonical JSON
        digest.update((b"," if number else b"") + canonical_json(name) + b":[")
        records = iter(inputs[name])
        first = True
        while block := list[JsonValue](islice(records, DIGEST_BLOCK)):
            digest.update((b"" if first else b",") + canonical_json(block)[1:-1])
            first = False
        digest.update(b"]")
    digest.update(b"}")
    return digest.hexdigest()
