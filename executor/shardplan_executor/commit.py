"""Group commit: finished units become durable many at a time, off the event loop.

A finished unit's records are appended to its segment and its journal record
appended at once, so a killed process loses nothing: the kernel keeps what
was written. Surviving a power loss needs fsync, which costs far more than a
no-op unit; so the fsyncs (the segments written to, the journal) run on a
background thread, one round at a time, each round covering every unit that
finished while the previous round ran. A unit counts as completed (its event,
the progress bar) once its round has returned.

Appending the journal record before the segment's fsync is safe: on resume a
journaled unit is skipped only if its byte range's checksum matches the
record, so a record that outlived its bytes after a power loss just makes
that unit run again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from shardplan_executor.journal import Journal, JournalRecord
from shardplan_executor.scheduler import Success
from shardplan_executor.store import SegmentStore

ROUND_GAP_S = 0.01
"""How long a round waits for more units before it fsyncs (the window goes on meanwhile)."""
Durable = Callable[[Sequence[Success], Sequence[JournalRecord]], None]


class GroupCommit:
    """Journals batches at once and fsyncs them in background rounds."""

    def __init__(
        self, journal: Journal, store: SegmentStore, *, fsync: bool, on_durable: Durable
    ) -> None:
        self._journal = journal
        self._store = store
        self._fsync = fsync
        self._on_durable = on_durable
        self._waiting: list[tuple[set[str], Sequence[Success], list[JournalRecord]]] = []
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    def submit(
        self, segments: set[str], batch: Sequence[Success], records: list[JournalRecord]
    ) -> None:
        """Journal `records` now (their bytes are in `segments`); report them once durable."""
        self._raise_error()
        self._journal.append(records)
        if not self._fsync:
            self._on_durable(batch, records)
            return
        self._waiting.append((segments, batch, records))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._rounds())

    async def _rounds(self) -> None:
        try:
            while self._waiting:
                # Let more units join the round: on a fast disk a round per batch
                # cost more in thread hand-offs than the fsyncs themselves.
                await asyncio.sleep(ROUND_GAP_S)
                groups, self._waiting = self._waiting, []
                segments = set[str]().union(*(group[0] for group in groups))
                await asyncio.to_thread(self._sync, segments)
                for _, batch, records in groups:
                    self._on_durable(batch, records)
        except Exception as error:  # a full disk: reported by the next submit or drain
            self._error = error
        finally:
            self._task = None

    def _sync(self, segments: set[str]) -> None:
        self._store.sync(sorted(segments))
        self._journal.sync()

    async def drain(self) -> None:
        """Wait until every submitted unit is durable (and reported)."""
        while self._task is not None:
            await self._task
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error
