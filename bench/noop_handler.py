"""Handlers that do nothing, so the executor benchmark measures only the executor."""

from __future__ import annotations

from shardplan_schemas.task import Record, ShardTask


async def noop(task: ShardTask) -> list[Record]:
    """Return no records at once: what is left is scheduling, journaling and events."""
    return []


def noop_sync(task: ShardTask) -> list[Record]:
    """The same as a sync callable, which the executor runs in a thread pool."""
    return []
