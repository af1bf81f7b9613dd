"""The handler's records as the index may read them: only plain dicts, only once encoded."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from shardplan_executor.records import EncodedRecords, MalformedRecordsError, encode_records


class _Note(BaseModel):
    line_id: str


def test_plain_dicts_are_handed_over_once_every_part_was_encoded() -> None:
    records: list[object] = [{"line_id": f"l{i}", "n": i} for i in range(3000)]
    encoded = EncodedRecords(records)
    assert encoded.plain_records() is None  # not encoded yet: nothing vouches for them
    data = b"".join(encoded)
    assert data == encode_records(records)
    assert encoded.plain_records() is records


@pytest.mark.parametrize(
    "records",
    [
        [{"line_id": "a"}, _Note(line_id="b")],  # a model: its dump, not itself, is the record
        ({"line_id": "a"},),  # a tuple of dicts
    ],
)
def test_anything_else_is_decoded_from_its_bytes(records: list[object]) -> None:
    encoded = EncodedRecords(records)
    assert b"".join(encoded).count(b"\n") == len(records)
    assert encoded.plain_records() is None


def test_records_that_fail_to_encode_are_never_handed_over() -> None:
    encoded = EncodedRecords([{"line_id": "a", "bad": float("nan")}])
    with pytest.raises(MalformedRecordsError):
        b"".join(encoded)
    assert encoded.plain_records() is None
