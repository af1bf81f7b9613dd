"""`events.jsonl`: what happened during runs, one validated JSON object a line.

Every event is a `shardplan_schemas.events` model, built (hence validated)
before it is written; the file is appended to by every run of the same run
directory, so a resume's history follows the killed run's.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson

from shardplan_executor.outputs import write_all
from shardplan_schemas.events import EVENT_ADAPTER, Event

EVENTS_NAME = "events.jsonl"


def utc_timestamp() -> str:
    """Now, as ISO 8601 in UTC with milliseconds, e.g. `2026-01-31T12:00:00.123Z`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def unit_completed_line(
    timestamp: str, unit_id: str, attempt: int, records: int, duration_ms: int
) -> bytes:
    """A `unit_completed` event's JSON line, the bytes `UnitCompleted` dumps, without a model.

    One is written per unit (730,000 in a million-line run); the values come
    from the executor's own bookkeeping (an id from the verified source,
    counts it made), so the model's validation would only cost time. The
    keys are in the model's field order; a test holds the two to the same
    bytes.
    """
    return (
        orjson.dumps(
            {
                "timestamp": timestamp,
                "event": "unit_completed",
                "unit_id": unit_id,
                "attempt": attempt,
                "records": records,
                "duration_ms": duration_ms,
            }
        )
        + b"\n"
    )


class EventLog:
    """Appends events to `events.jsonl` and flushes each one."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / EVENTS_NAME
        # Unbuffered, so each event is in the file at once and a failed write leaves nothing
        # to flush at close.
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def emit(self, event: Event) -> None:
        """Write one event (already validated by its model) as a JSON line."""
        write_all(self._fd, EVENT_ADAPTER.dump_json(event) + b"\n")

    def emit_many(self, events: Sequence[Event]) -> None:
        """Write several events with one write (a batch of units that finished together)."""
        if events:
            write_all(self._fd, b"".join(EVENT_ADAPTER.dump_json(e) + b"\n" for e in events))

    def emit_lines(self, lines: Sequence[bytes]) -> None:
        """Write already encoded event lines (`unit_completed_line`) with one write."""
        if lines:
            write_all(self._fd, b"".join(lines))

    def close(self) -> None:
        os.close(self._fd)
