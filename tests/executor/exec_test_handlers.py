"""Handlers the executor tests run, by reference `exec_test_handlers:<name>` (or this module's name).

They prove what the executor does from the inside: which units ran (a side
log), how many ran at once, and how it reacts to failures, hangs and bad
records. Behaviour is steered by environment variables so the same handlers
work in-process and in a `shardplan run` subprocess.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import threading
import time
from pathlib import Path

from pydantic import JsonValue

from shardplan_schemas.task import Record, ShardTask

SIDE_LOG = "SHARDPLAN_TEST_SIDE_LOG"
SLEEP_MAX_MS = "SHARDPLAN_TEST_SLEEP_MAX_MS"
FAIL_UNITS = "SHARDPLAN_TEST_FAIL_UNITS"
FLAKY_DIR = "SHARDPLAN_TEST_FLAKY_DIR"
FLAKY_FAILURES = "SHARDPLAN_TEST_FLAKY_FAILURES"


def _echo(task: ShardTask) -> list[Record]:
    inputs: dict[str, JsonValue] = {name: len(records) for name, records in task.inputs.items()}
    return [
        {
            "line_id": line.line_id,
            "unit_id": task.unit_id,
            "language": task.target_language,
            "text": line.text.upper(),
            "inputs": inputs,
        }
        for line in task.lines
    ]


def _name(record: Record) -> str:
    for field in ("line_id", "scene_id", "route_id"):
        value = record.get(field)
        if isinstance(value, str):
            return value
    return "everyone"


def scoped_handler(task: ShardTask) -> list[Record]:
    """context: a record per line, and in the first unit records scoped by scene, route, none,
    an unknown line and another shard's line; later phases: the names of what they received."""
    if task.phase == "context":
        records: list[Record] = [{"line_id": line.line_id} for line in task.lines]
        if task.lines[0].line_id == "line_1":
            records += [
                {"scene_id": "scene_2"},
                {"route_id": "route_2"},
                {"note": "for every unit"},
                {"line_id": "line_999"},
                {"line_id": "line_12"},
            ]
        return records
    received: list[JsonValue] = [_name(record) for record in task.inputs["context"]]
    return [{"line_id": line.line_id, "received": received} for line in task.lines]


def logging_handler(task: ShardTask) -> list[Record]:
    """Append the unit id to the side log, sleep a little (seeded by the unit), echo the lines."""
    with Path(os.environ[SIDE_LOG]).open("a", encoding="utf-8") as log:
        log.write(task.unit_id + "\n")
    sleep_max = int(os.environ.get(SLEEP_MAX_MS, "0"))
    if sleep_max:
        time.sleep(random.Random(task.unit_id).randint(0, sleep_max) / 1000)
    return _echo(task)


def echo_handler(task: ShardTask) -> list[Record]:
    """The lines back, with the counts of inputs per phase (a pure function of the task)."""
    return _echo(task)


_lock = threading.Lock()
_running = 0
max_seen = 0


async def concurrency_handler(task: ShardTask) -> list[Record]:
    """Record the highest number of calls in flight at once (`max_seen`)."""
    global _running, max_seen
    with _lock:
        _running += 1
        max_seen = max(max_seen, _running)
    try:
        await asyncio.sleep(0.01 + random.Random(task.unit_id).random() * 0.02)
    finally:
        with _lock:
            _running -= 1
    return _echo(task)


def reset_concurrency() -> None:
    global max_seen
    max_seen = 0


async def every_fourth_slow(task: ShardTask) -> list[Record]:
    """Units whose line number is a multiple of 4 take 1 s; the others return at once."""
    number = int(task.lines[0].line_id.rsplit("_", 1)[1])
    if number % 4 == 0:
        await asyncio.sleep(1.0)
    return _echo(task)


def failing_handler(task: ShardTask) -> list[Record]:
    """Raise for the units listed (comma-separated) in SHARDPLAN_TEST_FAIL_UNITS, else echo."""
    with Path(os.environ[SIDE_LOG]).open("a", encoding="utf-8") as log:
        log.write(task.unit_id + "\n")
    if task.unit_id in os.environ.get(FAIL_UNITS, "").split(","):
        raise ValueError(f"refusing {task.unit_id}")
    return _echo(task)


def flaky_handler(task: ShardTask) -> list[Record]:
    """Fail the first SHARDPLAN_TEST_FLAKY_FAILURES attempts of every unit, then succeed."""
    marker = Path(os.environ[FLAKY_DIR]) / task.unit_id.replace(":", "_")
    attempts = int(marker.read_text()) if marker.exists() else 0
    marker.write_text(str(attempts + 1))
    if attempts < int(os.environ.get(FLAKY_FAILURES, "1")):
        raise ConnectionError(f"transient failure {attempts + 1} of {task.unit_id}")
    return _echo(task)


def hanging_handler(task: ShardTask) -> list[Record]:
    """Hang (a blocking sleep a timeout cannot interrupt) on line_2's unit; echo the others."""
    if task.lines[0].line_id == "line_2":
        time.sleep(3600)
    return _echo(task)


async def hanging_async_handler(task: ShardTask) -> list[Record]:
    """Hang (an awaitable the timeout cancels) on line_2's unit; echo the others."""
    if task.lines[0].line_id == "line_2":
        await asyncio.sleep(3600)
    return _echo(task)


def malformed_handler(task: ShardTask) -> object:
    """Return a different kind of wrong result per line: not a list, not objects, not JSON."""
    kind = int(task.lines[0].line_id.rsplit("_", 1)[1]) % 4
    if kind == 0:
        return {"line_id": task.lines[0].line_id}
    if kind == 1:
        return ["just a string"]
    if kind == 2:
        return [{"value": {1, 2}}]
    return [{1: "integer key"}]


def worker_killing_handler(task: ShardTask) -> list[Record]:
    """Kill the process running it on a unit's first attempt (a lost Dask worker), then echo."""
    marker = Path(os.environ[FLAKY_DIR]) / task.unit_id.replace(":", "_")
    if not marker.exists():
        marker.write_text("killed")
        os._exit(1)
    return _echo(task)


def _upstream_digest(task: ShardTask) -> str:
    # Inputs are lazy sequences on main: made lists to be encoded.
    inputs = {name: list(records) for name, records in task.inputs.items()}
    text = json.dumps(inputs, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def cutoff_handler(task: ShardTask) -> list[Record]:
    """Deterministic, and sensitive to the content of its inputs (for reuse tests).

    `context` records name only the line and its scene, so a text edit reruns
    a context shard that comes out identical (early cutoff downstream); every
    other phase's records carry a digest of the whole `inputs`, so any upstream
    change shows in the bytes. Units are logged to the side log when it is set.
    """
    side_log = os.environ.get(SIDE_LOG)
    if side_log:
        with Path(side_log).open("a", encoding="utf-8") as log:
            log.write(task.unit_id + "\n")
    if task.phase == "context":
        return [{"line_id": line.line_id, "scene": line.scene_id} for line in task.lines]
    upstream = _upstream_digest(task)
    return [
        {
            "line_id": line.line_id,
            "language": task.target_language,
            "text": line.text.upper(),
            "upstream": upstream,
        }
        for line in task.lines
    ]


def versioned_handler(task: ShardTask) -> list[Record]:
    """`cutoff_handler` with a `version` attribute, which joins the handler's identity."""
    return cutoff_handler(task)


versioned_handler.version = "2"  # type: ignore[attr-defined]
