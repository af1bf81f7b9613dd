"""What a Dask worker runs for one unit: resolve the handler by name, call it, encode.

It imports no Dask, so the worker needs only `shardplan` (the schemas and this
package) and the handler's own package. The handler is resolved on the worker
from the same reference given on the command line and cached per process.
"""

from __future__ import annotations

from functools import cache

from shardplan_executor.handlers.discovery import load_handler
from shardplan_executor.handlers.protocol import Handler, call_blocking
from shardplan_schemas.task import ShardTask


@cache
def _handler(reference: str) -> Handler:
    return load_handler(reference)


def run_unit(reference: str, task_json: str | bytes) -> bytes:
    """Run the handler `reference` on the task given as JSON; its records as JSON Lines."""
    return call_blocking(_handler(reference), ShardTask.model_validate_json(task_json))
