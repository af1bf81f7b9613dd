"""Handlers that do nothing, so the executor benchmark measures only the executor."""

from __future__ import annotations

from shardplan_schemas.task import Record, ShardTask


async def noop(task: ShardTask) -> list[Record]:
    """Return no records at once: what is left is scheduling, journaling and events."""
    return []


def noop_sync(task: ShardTask) -> list[Record]:
    """The same as a sync callable, which the executor runs in a thread pool."""
    return []


async def one_record(task: ShardTask) -> list[Record]:
    """One small record per line, naming its line, as any real phase returns.

    It reads its lines but not its inputs (it takes their sizes only): what a
    handler does with its inputs is its own cost; gathering them is the executor's.
    """
    sizes = sum(len(records) for records in task.inputs.values())
    return [{"line_id": line.line_id, "inputs": sizes} for line in task.lines]
