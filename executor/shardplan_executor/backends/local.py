"""The local backend: async handlers on the event loop, sync ones on daemon threads.

Sync handlers run on a small pool of daemon threads that grows when every
thread is busy. A handler that hangs past `--unit-timeout` keeps its thread,
so a new one takes its place; being daemon threads, hung ones never keep the
process from exiting (a `ThreadPoolExecutor` would join them at exit).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Iterable
from concurrent.futures import Future

from shardplan_executor.handlers.protocol import (
    Handler,
    call_async,
    call_async_chunks,
    call_blocking,
    is_async_handler,
)
from shardplan_schemas.task import ShardTask

_Job = tuple[Future[bytes], Handler, ShardTask]


class DaemonThreadPool:
    """Runs blocking handler calls on daemon threads, one new thread when none is idle."""

    def __init__(self, name: str = "shardplan-handler") -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._threads: list[threading.Thread] = []
        self._name = name

    def submit(self, handler: Handler, task: ShardTask) -> Future[bytes]:
        future: Future[bytes] = Future()
        with self._lock:
            if self._idle:
                self._idle -= 1
            else:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
        self._jobs.put((future, handler, task))
        return future

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, handler, task = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(call_blocking(handler, task))
                except BaseException as error:  # a handler's SystemExit must not kill the thread
                    future.set_exception(
                        error if isinstance(error, Exception) else RuntimeError(repr(error))
                    )
            with self._lock:
                self._idle += 1

    def shutdown(self) -> None:
        """Let idle threads end; busy (hung) daemon threads are abandoned."""
        for _ in self._threads:
            self._jobs.put(None)


class LocalBackend:
    """Runs handler calls in this process."""

    name = "local"

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._async = is_async_handler(handler)
        self._pool = DaemonThreadPool()

    async def start(self, max_parallel: int) -> None:
        return None

    async def run(self, task: ShardTask) -> bytes:
        if self._async:
            return await call_async(self._handler, task)
        return await asyncio.wrap_future(self._pool.submit(self._handler, task))

    async def run_chunks(self, task: ShardTask) -> Iterable[bytes]:
        if self._async:
            return await call_async_chunks(self._handler, task)
        return [await self.run(task)]

    async def close(self) -> None:
        self._pool.shutdown()
