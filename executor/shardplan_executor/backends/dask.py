"""The Dask backend: units go to a Dask cluster, the cap stays the executor's own.

Without `--scheduler` it starts a `LocalCluster` bound to 127.0.0.1 with the
dashboard off; with `--scheduler ADDRESS` it connects to an existing cluster
(whose workers must have the handler's package installed). The executor's
sliding window still decides how many units are in flight, so the phase cap
holds whatever the cluster's size. Each result is awaited on its own and its
future released at once, so results stream back and never pile up on the
cluster. A unit whose worker died comes back as an error (e.g. `KilledWorker`)
and is retried by the run policy like any other failure.
"""

from __future__ import annotations

import logging
import math
import os
import uuid
from collections.abc import Iterable

from distributed import Client, LocalCluster

from shardplan_executor.backends.payload import task_payload
from shardplan_executor.backends.worker import run_unit
from shardplan_schemas.task import ShardTask

MAX_THREADS_PER_WORKER = 32


class DaskBackend:
    """Runs handler calls on a Dask cluster."""

    name = "dask"

    def __init__(
        self,
        handler_reference: str,
        scheduler_address: str | None = None,
        *,
        processes: bool = True,
        n_workers: int | None = None,
    ) -> None:
        self._reference = handler_reference
        self._address = scheduler_address
        self._processes = processes
        self._n_workers = n_workers
        self._cluster: LocalCluster | None = None
        self._client: Client | None = None

    async def start(self, max_parallel: int) -> None:
        if self._address is None:
            workers = self._n_workers or max(1, min(os.cpu_count() or 1, max_parallel))
            threads = max(1, min(math.ceil(max_parallel / workers), MAX_THREADS_PER_WORKER))
            # Worker processes talk over TCP on the loopback only; an in-process cluster
            # (threads) uses Dask's in-memory transport and opens no port at all.
            network = {"host": "127.0.0.1"} if self._processes else {}
            self._cluster = await LocalCluster(  # type: ignore[no-untyped-call]
                dashboard_address=None,
                processes=self._processes,
                n_workers=workers,
                threads_per_worker=threads,
                asynchronous=True,
                silence_logs=logging.ERROR,
                **network,
            )
            self._client = await Client(self._cluster, asynchronous=True)  # type: ignore[no-untyped-call]
        else:
            self._client = await Client(  # type: ignore[no-untyped-call]
                self._address, asynchronous=True, timeout="10s"
            )

    async def run_chunks(self, task: ShardTask) -> Iterable[bytes]:
        return [await self.run(task)]

    async def run(self, task: ShardTask) -> bytes:
        if self._client is None:  # pragma: no cover - a wiring bug
            raise RuntimeError("the Dask backend was not started")
        future = self._client.submit(
            run_unit,
            self._reference,
            task_payload(task),
            key=f"shardplan-{task.unit_id}-{uuid.uuid4().hex}",
            pure=False,
        )
        try:
            result = await future
        finally:
            future.release()  # type: ignore[no-untyped-call]
        if not isinstance(result, bytes):  # pragma: no cover - run_unit returns bytes
            raise TypeError(f"a worker returned {type(result).__name__}, not bytes")
        return result

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()  # type: ignore[no-untyped-call]
        if self._cluster is not None:
            await self._cluster.close()  # type: ignore[misc]
