"""The handler protocol.

A handler is a callable taking one `ShardTask` and returning a list of
records (pydantic models or JSON objects), either directly (a sync handler,
run in a thread so it never blocks the scheduler) or as an awaitable (an
async handler, run on the executor's event loop). It must be deterministic in
its task if outputs are to be reproducible, and must not write into the run
directory: the executor owns it (and on Dask the handler runs elsewhere).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeAlias

from pydantic import BaseModel

from shardplan_executor.records import EncodedRecords, encode_records
from shardplan_schemas.task import Record, ShardTask

HandlerResult: TypeAlias = Sequence[BaseModel | Record]
Handler: TypeAlias = Callable[[ShardTask], HandlerResult | Awaitable[HandlerResult]]


def is_async_handler(handler: Handler) -> bool:
    """True when calling `handler` returns an awaitable (an `async def` or async `__call__`)."""
    if inspect.iscoroutinefunction(handler):
        return True
    call = getattr(handler, "__call__", None)  # noqa: B004 - async __call__ on an object
    return call is not None and inspect.iscoroutinefunction(call)


def call_blocking(handler: Handler, task: ShardTask) -> bytes:
    """Run `handler` to completion in the calling thread; its records as JSON Lines."""
    result = handler(task)
    if inspect.isawaitable(result):
        result = asyncio.run(_await(result))
    return encode_records(result)


async def call_async(handler: Handler, task: ShardTask) -> bytes:
    """Await an async `handler`; its records as JSON Lines."""
    result = handler(task)
    if inspect.isawaitable(result):
        result = await result
    return encode_records(result)


async def call_async_chunks(handler: Handler, task: ShardTask) -> EncodedRecords:
    """Await an async `handler`; its records as JSON Lines, encoded as they are consumed."""
    result = handler(task)
    if inspect.isawaitable(result):
        result = await result
    return EncodedRecords(result)


async def _await(awaitable: Awaitable[HandlerResult]) -> HandlerResult:
    return await awaitable
