"""The ceiling for `shardplan run` with a handler: that handler's own work, and nothing else.

For each unit of the plan (each shard of each enabled phase, once per target
language), in plan order: parse the shard's lines with one orjson call (as
the executor does), build their `SourceLine`s the executor's cheapest way
(`source_line`), call the handler with a task holding them and no inputs,
encode its records (`iter_encoded`, with the round-trip check) and hash
them. Nothing is scheduled, gathered, written, journaled or indexed. With
the benchmark's handler, which reads every line and returns a record for
each, no executor can run faster than this: `executor-scale` reports its
units/s as the ceiling beside the run's.

Usage: `python -m bench.handler_floor PLAN SCRIPT MODULE:FUNCTION`; prints
`<units> <seconds>` (the seconds after both files are loaded).
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import importlib
import sys
import time
from collections.abc import Callable, Coroutine

import orjson

from shardplan_executor.records import iter_encoded
from shardplan_executor.runner import GC_YOUNG_THRESHOLD
from shardplan_executor.source_index import source_line
from shardplan_executor.trusted import trusted
from shardplan_schemas.task import Record, ShardTask

Handler = Callable[[ShardTask], Coroutine[object, object, list[Record]]]


def _step(handler: Handler, task: ShardTask) -> list[Record]:
    """Run an async handler that never suspends (the benchmark's) to its result."""
    coroutine = handler(task)
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coroutine.close()
    return asyncio.run(handler(task))  # a handler that suspends: run it properly


def measure(plan_path: str, script_path: str, reference: str) -> tuple[int, float]:
    module, _, name = reference.partition(":")
    handler: Handler = getattr(importlib.import_module(module), name)
    with open(plan_path, "rb") as stream:
        plan = orjson.loads(stream.read())
    with open(script_path, "rb") as stream:
        lines = [line for line in stream.read().split(b"\n") if line.strip()]
    units = 0
    started = time.perf_counter()
    for phase in plan["phases"]:
        if not phase["enabled"]:
            continue
        languages = phase["target_languages"] or [None]
        for shard in phase["shards"]:
            start, end = shard["start"], shard["end"]
            for language in languages:
                block = b"[" + b",".join(lines[start:end]) + b"]"
                task = trusted(
                    ShardTask,
                    {
                        "phase": phase["phase"],
                        "target_language": language,
                        "agents": list(phase["agents"]),
                        "unit_id": shard["key"],
                        "shard_key": shard["key"],
                        "lines": list(map(source_line, orjson.loads(block))),
                        "inputs": {},
                        "plan_id": plan["plan_id"],
                    },
                )
                digest = hashlib.sha256()
                for part in iter_encoded(_step(handler, task)):
                    digest.update(part)
                units += 1
    return units, time.perf_counter() - started


if __name__ == "__main__":
    gc.set_threshold(GC_YOUNG_THRESHOLD)  # as `shardplan run` collects
    count, seconds = measure(sys.argv[1], sys.argv[2], sys.argv[3])
    print(count, f"{seconds:.3f}")
