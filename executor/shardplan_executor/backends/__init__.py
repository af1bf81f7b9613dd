"""Backends run one unit's handler call somewhere and hand back its encoded records.

The scheduler owns the window, the retries and the durability; a backend only
runs `handler(task)` and returns the records as JSON Lines bytes (encoded
where the handler ran, so every backend produces the same bytes). Cancelling
the awaiting coroutine abandons the call.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from shardplan_schemas.task import ShardTask


class Backend(Protocol):
    """Where handler calls run."""

    name: str

    async def start(self, max_parallel: int) -> None:
        """Get ready to run up to `max_parallel` calls at once."""

    async def run(self, task: ShardTask) -> bytes:
        """Run the handler on `task`; its records as JSON Lines. Raises what the handler raised."""

    async def run_chunks(self, task: ShardTask) -> Iterable[bytes]:
        """`run`, its JSON Lines in parts that may be encoded as they are consumed (an async
        handler's records, on the local backend); an encoding error is raised by the parts."""

    async def close(self) -> None:
        """Release workers and connections."""
