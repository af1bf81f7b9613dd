"""Models the executor builds without validation behave as validated ones (trusted.py).

`trusted` and `source_line` set a pydantic instance's state directly to save
a validation per unit and per line. That leans on how pydantic stores an
instance, which a pydantic release may change: these tests compare each
such instance with the validated one, field by field, as JSON and as the
handler and the journal use it, so such a change fails here, not in a run.
"""

from __future__ import annotations

from pydantic import BaseModel, JsonValue

from shardplan_executor.fingerprint import UnitFingerprint
from shardplan_executor.journal import JournalRecord
from shardplan_executor.source_index import source_line
from shardplan_executor.trusted import trusted
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
