"""A handler's records, checked and encoded as JSON Lines.

Records are encoded where the handler ran (a thread, or a Dask worker) and
travel as bytes, so the local and Dask backends write byte-identical outputs.
Anything that would not survive a JSON round trip unchanged is refused: a
handler bug shows up as a clear unit failure, not as a corrupt output.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from pydantic import BaseModel

from shardplan_schemas.task import Record


class MalformedRecordsError(TypeError):
    """The handler returned something that is not a list of JSON objects."""


def _encode_record(index: int, record: object) -> str:
    if isinstance(record, BaseModel):
        value: object = record.model_dump(mode="json")
    elif isinstance(record, Mapping):
        value = dict(record)
    else:
        raise MalformedRecordsError(
            f"record {index} is a {type(record).__name__}, not a JSON object or pydantic model"
        )
    try:
        line = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise MalformedRecordsError(f"record {index} is not JSON: {error}") from None
    if json.loads(line) != value:
        raise MalformedRecordsError(
            f"record {index} does not survive a JSON round trip "
            "(keys must be strings; values strings, numbers, booleans, null, lists or objects)"
        )
    return line


def encode_records(result: object) -> bytes:
    """The handler's result as JSON Lines (one record a line), or `MalformedRecordsError`."""
    if not isinstance(result, list | tuple):
        raise MalformedRecordsError(
            f"the handler returned a {type(result).__name__}; it must return a list of records"
        )
    return "".join(_encode_record(i, r) + "\n" for i, r in enumerate(result)).encode("utf-8")


def decode_records(data: bytes) -> list[Record]:
    """Records from JSON Lines written by `encode_records`."""
    records: list[Record] = []
    for line in data.splitlines():
        value = json.loads(line)
        if not isinstance(value, dict):  # pragma: no cover - encode_records never writes this
            raise MalformedRecordsError("an output line is not a JSON object")
        records.append(value)
    return records
