"""A handler's records, checked and encoded as JSON Lines.

Records are encoded where the handler ran (a thread, or a Dask worker) and
travel as bytes, so the local and Dask backends write byte-identical outputs.
Anything that would not survive a JSON round trip unchanged is refused: a
handler bug shows up as a clear unit failure, not as a corrupt output.
Encoding is orjson's compact form (the standard library's
`separators=(",", ":"), ensure_ascii=False` for everything but floats, which
orjson writes in their shortest form, e.g. `1e16`, and integers beyond 64
bits, which orjson refuses): at a million lines a run encodes some ten
million records, and the standard library took a third of the run.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping, Sequence

import orjson
from pydantic import BaseModel

from shardplan_schemas.task import Record


class MalformedRecordsError(TypeError):
    """The handler returned something that is not a list of JSON objects."""


def _encode_record(index: int, record: object) -> bytes:
    if isinstance(record, BaseModel):
        value: object = record.model_dump(mode="json")
    elif isinstance(record, Mapping):
        value = dict(record)
    else:
        raise MalformedRecordsError(
            f"record {index} is a {type(record).__name__}, not a JSON object or pydantic model"
        )
    try:
        line = orjson.dumps(value)
    except TypeError as error:
        # Say why in the standard library's words: it names the type, and it tells
        # keys that are not strings (which it would convert) from values that are not JSON.
        try:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as stdlib_error:
            raise MalformedRecordsError(f"record {index} is not JSON: {stdlib_error}") from None
        if json.loads(text) == value:  # an integer beyond 64 bits
            raise MalformedRecordsError(f"record {index} is not JSON: {error}") from None
        line = b""
    if not line or orjson.loads(line) != value:
        raise MalformedRecordsError(
            f"record {index} does not survive a JSON round trip "
            "(keys must be strings; values strings, numbers, booleans, null, lists or objects)"
        )
    return line


def iter_encoded(result: object, mixed: list[int] | None = None) -> Iterator[bytes]:
    """The handler's result as JSON Lines, `_CHUNK` records at a time, or `MalformedRecordsError`.

    A chunk of plain dicts (the common case) is encoded and checked in one
    orjson call each way; any other chunk, or one that fails the check, goes
    record by record, so the error names the record. Consumed as it comes
    (the executor appends each chunk to the unit's segment), a `full` unit's
    million records are never held encoded in one piece next to the list.
    """
    if not isinstance(result, list | tuple):
        raise MalformedRecordsError(
            f"the handler returned a {type(result).__name__}; it must return a list of records"
        )
    for first in range(0, len(result), _CHUNK):
        chunk = result[first : first + _CHUNK]
        part = _encode_dicts(chunk) if all(type(r) is dict for r in chunk) else None
        if part is None:
            if mixed is not None:
                mixed.append(first)
            part = b"".join(_encode_record(first + i, r) + b"\n" for i, r in enumerate(chunk))
        yield part


class EncodedRecords:
    """A handler's records, encoded as JSON Lines as they are iterated (`iter_encoded`).

    It keeps the handler's list, so once every part was written, whoever
    indexes the output can read the records' `line_id`s from the list
    (`plain_records`) instead of decoding the bytes just encoded from it.
    """

    def __init__(self, result: object) -> None:
        self.result = result
        self._mixed: list[int] | None = None
        """Where the chunks that were not all plain dicts start, once iterated."""

    def __iter__(self) -> Iterator[bytes]:
        self._mixed = []
        return iter_encoded(self.result, self._mixed)

    def plain_records(self) -> list[Record] | None:
        """After a whole iteration: the records when every one is a plain dict (each
        checked to survive a JSON round trip unchanged, so equal to its decoded line);
        else None."""
        result = self.result
        if self._mixed is None or self._mixed or not isinstance(result, list):
            return None
        return result


def encode_records(result: object) -> bytes:
    """The handler's result as JSON Lines (one record a line), or `MalformedRecordsError`.

    Written into one growing buffer, whose bytes `getvalue` hands over without
    a copy: a list of parts then joined held the output twice.
    """
    buffer = io.BytesIO()
    for part in iter_encoded(result):
        buffer.write(part)
    return buffer.getvalue()


_CHUNK = 1024
"""Records encoded and checked at a time. orjson gives each small result a buffer of
a few kilobytes, so a million results alive at once would take gigabytes."""


def _encode_dicts(chunk: Sequence[object]) -> bytes | None:
    """JSON Lines of plain dicts that survive the round trip, else None (go record by record)."""
    try:
        joined = b"\n".join(map(orjson.dumps, chunk))
    except TypeError:
        return None
    if orjson.loads(b"[" + joined.replace(b"\n", b",") + b"]") != list(chunk):
        return None
    return joined + b"\n"


def decode_records(data: bytes) -> list[Record]:
    """Records from JSON Lines written by `encode_records`."""
    if not data:
        return []
    value = orjson.loads(b"[" + data[:-1].replace(b"\n", b",") + b"]")
    if not isinstance(value, list) or set(map(type, value)) - {dict}:
        raise MalformedRecordsError("an output line is not a JSON object")  # pragma: no cover
    return value
