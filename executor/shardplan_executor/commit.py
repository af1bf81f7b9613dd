"""Group commit: finished units become durable many at a time, off the event loop.

A finished unit's output file is written (atomically) and its journal record
appended at once, so a killed process loses nothing: the kernel keeps what
was written. Surviving a power loss needs fsync, which costs far more than a
no-op unit; so the fsyncs (the new output files, their directories, the
journal) run on a background thread, one round at a time, each round covering
every unit that finished while the previous round ran. A unit counts as
completed (its event, the progress bar) once its round has returned.

Appending the journal record before the output's fsync is safe: on resume a
journaled unit is skipped only if its output file's checksum matches the
record, so a record that outlived its output after a power loss just makes
that unit run again.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from shardplan_executor.journal import Journal, JournalRecord
from shardplan_executor.outputs import fsync_directory
from shardplan_executor.scheduler import Success

Durable = Callable[[Sequence[Success], Sequence[JournalRecord]], None]


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class GroupCommit:
    """Journals batches at once and fsyncs them in background rounds."""

    def __init__(self, journal: Journal, *, fsync: bool, on_durable: Durable) -> None:
        self._journal = journal
        self._fsync = fsync
        self._on_durable = on_durable
        self._waiting: list[tuple[list[Path], Sequence[Success], list[JournalRecord]]] = []
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    def submit(
        self, files: list[Path], batch: Sequence[Success], records: list[JournalRecord]
    ) -> None:
        """Journal `records` now (their `files` are in place); report them once durable."""
        self._raise_error()
        self._journal.append(records)
        if not self._fsync:
            self._on_durable(batch, records)
            return
        self._waiting.append((files, batch, records))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._rounds())

    async def _rounds(self) -> None:
        try:
            while self._waiting:
                groups, self._waiting = self._waiting, []
                files = [path for group in groups for path in group[0]]
                await asyncio.to_thread(self._sync, files)
                for _, batch, records in groups:
                    self._on_durable(batch, records)
        except Exception as error:  # a full disk: reported by the next submit or drain
            self._error = error
        finally:
            self._task = None

    def _sync(self, files: list[Path]) -> None:
        for path in files:
            _fsync_file(path)
        for directory in sorted({path.parent for path in files}):
            fsync_directory(directory)
        self._journal.sync()

    async def drain(self) -> None:
        """Wait until every submitted unit is durable (and reported)."""
        while self._task is not None:
            await self._task
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error
