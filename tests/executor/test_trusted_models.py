"""Models the executor builds without validation behave as validated ones (trusted.py).

`trusted` and `source_line` set a pydantic instance's state directly to save
a validation per unit and per line. That leans on how pydantic stores an
instance, which a pydantic release may change: these tests compare each
such instance with the validated one, field by field, as JSON and as the
handler and the journal use it, so such a change fails here, not in a run.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, JsonValue

from shardplan_executor.events import unit_completed_line
from shardplan_executor.fingerprint import UnitFingerprint
from shardplan_executor.journal import JournalRecord
from shardplan_executor.source_index import source_line
from shardplan_executor.trusted import trusted
from shardplan_schemas.events import EVENT_ADAPTER, UnitCompleted
from shardplan_schemas.source import SourceLine
from shardplan_schemas.task import ShardTask


def _same(built: BaseModel, validated: BaseModel) -> None:
    assert type(built) is type(validated)
    assert built == validated
    assert built.model_dump() == validated.model_dump()
    assert built.model_dump_json() == validated.model_dump_json()
    assert built.model_copy() == validated.model_copy()
    for name in type(validated).model_fields:
        assert getattr(built, name) == getattr(validated, name), name


def test_a_trusted_task_is_the_validated_task() -> None:
    line = SourceLine.model_validate({"line_id": "scene_1_1", "text": "a", "scene_id": "scene_1"})
    values: dict[str, object] = {
        "phase": "translate",
        "target_language": "en",
        "agents": ["direct_translator"],
        "unit_id": "translate.en:scene_1_1",
        "shard_key": "translate:scene_1_1",
        "lines": [line],
        "inputs": {"context": [{"scene_id": "scene_1", "summary": "x"}]},
        "plan_id": "sha256:" + "0" * 64,
    }
    _same(trusted(ShardTask, dict(values)), ShardTask.model_validate(values))


def test_a_trusted_journal_record_is_the_validated_record() -> None:
    fingerprint = UnitFingerprint(language="en", handler="pseudo", inputs_sha256="1" * 64)
    for values in (
        {
            "id": "translate.en:scene_1_1",
            "sha256": "2" * 32,
            "output": "outputs/translate.en.jsonl",
            "offset": 10,
            "length": 20,
            "output_sha256": "3" * 64,
            "records": 2,
            "fingerprint": fingerprint,
        },
        {
            "id": "ingest:scene_1_1",
            "sha256": "2" * 32,
            "output": None,
            "offset": 0,
            "length": 0,
            "output_sha256": "4" * 64,
            "records": 0,
            "fingerprint": None,
        },
    ):
        _same(trusted(JournalRecord, dict(values)), JournalRecord.model_validate(values))


def test_a_source_line_from_a_verified_record_is_the_validated_line() -> None:
    records: list[dict[str, JsonValue]] = [
        {"line_id": "scene_1_1", "text": "a"},
        {
            "line_id": "scene_1_2",
            "text": "b",
            "speaker": "Aoi",
            "scene_id": "scene_1",
            "route_id": "common_0",
            "metadata": {"is_choice": False},
        },
    ]
    for record in records:
        built, validated = source_line(dict(record)), SourceLine.model_validate(record)
        _same(built, validated)
        assert built.model_fields_set == validated.model_fields_set
        assert built.model_dump(exclude_unset=True) == record


def test_a_trusted_fingerprint_is_the_validated_fingerprint() -> None:
    for language in ("en", None):
        values: dict[str, object] = {
            "language": language,
            "handler": "pkg.mod:handler@3",
            "inputs_sha256": "5" * 64,
        }
        _same(trusted(UnitFingerprint, dict(values)), UnitFingerprint.model_validate(values))


@given(
    unit_id=st.text(min_size=1),
    attempt=st.integers(min_value=1, max_value=2**62),
    records=st.integers(min_value=0, max_value=2**62),
    duration_ms=st.integers(min_value=0, max_value=2**62),
)
def test_a_unit_completed_line_is_the_models_json(
    unit_id: str, attempt: int, records: int, duration_ms: int
) -> None:
    """Any id text (non-ASCII, control characters, quotes), any counts: the same bytes."""
    timestamp = "2026-12-03T10:00:00.123Z"
    event = UnitCompleted(
        timestamp=timestamp,
        event="unit_completed",
        unit_id=unit_id,
        attempt=attempt,
        records=records,
        duration_ms=duration_ms,
    )
    line = unit_completed_line(timestamp, unit_id, attempt, records, duration_ms)
    assert line == EVENT_ADAPTER.dump_json(event) + b"\n"
    assert EVENT_ADAPTER.validate_json(line) == event
