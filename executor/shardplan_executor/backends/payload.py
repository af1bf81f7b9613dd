"""A task as the JSON a remote worker validates: built from raw bytes, never from models.

The Dask backend sends each unit its lines and inputs, never the plan or the
source. Both are JSON on disk already (the source's lines, the upstream
outputs' records), so the payload is spliced from those bytes: the client
builds no model and no dict per line or record, and its memory stays that of
one payload.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from shardplan_executor.record_index import RecordSequence
from shardplan_executor.source_index import LazyLines
from shardplan_schemas.source import SourceLine
from shardplan_schemas.task import Record, ShardTask


def _lines_json(lines: Sequence[SourceLine]) -> bytes:
    if isinstance(lines, LazyLines):
        return lines.raw_json()
    return orjson.dumps([line.model_dump(mode="json", exclude_unset=True) for line in lines])


def _records_json(records: Sequence[Record]) -> bytes:
    if isinstance(records, RecordSequence):
        raw = records.raw()
        return b"[" + raw[:-1].replace(b"\n", b",") + b"]" if raw else b"[]"
    return orjson.dumps(list(records))


def task_payload(task: ShardTask) -> bytes:
    """The task as JSON that `ShardTask.model_validate_json` accepts."""
    head = orjson.dumps(
        {
            "phase": task.phase,
            "target_language": task.target_language,
            "agents": list(task.agents),
            "unit_id": task.unit_id,
            "shard_key": task.shard_key,
            "plan_id": task.plan_id,
        }
    )
    inputs = b",".join(
        orjson.dumps(name) + b":" + _records_json(records) for name, records in task.inputs.items()
    )
    return head[:-1] + b',"lines":' + _lines_json(task.lines) + b',"inputs":{' + inputs + b"}}"
