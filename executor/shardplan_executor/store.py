"""Unit outputs as append-only segments: one file per phase and language.

A unit's records are one contiguous byte range of its segment,
`outputs/<phase>[.<lang>].jsonl`, appended when the unit finishes; its
journal record (written after the bytes) names the segment, the range's
`offset` and `length`, its `output_sha256` and the number of records. A unit
exists only once that record is written, so bytes past the last journaled
range of a segment are a torn tail, cut off when a run resumes
(`resume_store`).

One file per unit cost a create and a rename per unit (about 800 µs on this
VM's disk under load, 49 µs on tmpfs), and a resume had to open and hash
730,000 files; a segment is one open descriptor written at its end, and a
resume reads each segment once, sequentially. docs/executor.md has the
measurements.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from shardplan_executor.outputs import fsync_directory

OUTPUTS = "outputs"
NO_OUTPUT = -1
"""`offsets` value of a unit with no range (not finished, or no records)."""


class Stored(NamedTuple):
    """Where a finished unit's records were appended, and what the journal says of them."""

    segment: str | None
    """None when the unit returned no records (nothing is written)."""
    offset: int
    length: int
    sha256: str
    records: int


def segment_path(phase: str, language: str | None) -> str:
    """`outputs/<phase>[.<lang>].jsonl`, relative to the run directory, `/`-separated."""
    head = phase if language is None else f"{phase}.{language}"
    return f"{OUTPUTS}/{head}.jsonl"


def segment_of(unit_id: str) -> str:
    """The segment of the unit with this id (`<phase>[.<lang>]:<line id>`)."""
    return f"{OUTPUTS}/{unit_id.partition(':')[0]}.jsonl"


def pread_all(fd: int, length: int, offset: int) -> bytes:
    """`length` bytes at `offset`, or fewer only at the end of the file."""
    data = os.pread(fd, length, offset)
    if len(data) == length or not data:
        return data
    parts = [data]
    got = len(data)
    while got < length:
        more = os.pread(fd, length - got, offset + got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


class SegmentStore:
    """The run directory's segments: appended to, read by range, fsynced by group commit.

    `offsets[phase][order]` and `lengths[phase][order]` say where each
    finished unit's records are (16 bytes a unit, by `Unit.order`).
    """

    def __init__(self, run_dir: Path, unit_counts: Iterable[int]) -> None:
        self._root = str(run_dir) + os.sep
        self.offsets = [array("q", [NO_OUTPUT]) * count for count in unit_counts]
        self.lengths = [array("q", bytes(8 * len(o))) for o in self.offsets]
        self._fds: dict[str, int] = {}
        self._sizes: dict[str, int] = {}
        self._created = False
        """A segment was created since the last `sync`: the folder needs an fsync too."""

    def _fd(self, segment: str) -> int:
        fd = self._fds.get(segment)
        if fd is None:
            path = self._root + segment
            if not self._fds:
                os.makedirs(self._root + OUTPUTS, exist_ok=True)
            existed = os.path.exists(path)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            self._fds[segment] = fd
            self._sizes[segment] = os.fstat(fd).st_size
            self._created = self._created or not existed
        return fd

    def size(self, segment: str) -> int:
        """The segment's size in bytes (0 when it does not exist yet)."""
        if segment not in self._fds and not os.path.exists(self._root + segment):
            return 0
        self._fd(segment)
        return self._sizes[segment]

    def append(self, segment: str, data: bytes) -> int:
        """Write `data` at the segment's end; its offset. Not fsynced (see `sync`).

        Written with `pwrite` at the size this process keeps: a short write
        (a full disk) raises and the next append overwrites what it left.
        """
        fd = self._fd(segment)
        offset = self._sizes[segment]
        view = memoryview(data)
        position = offset
        while view:
            written = os.pwrite(fd, view, position)
            view = view[written:]
            position += written
        self._sizes[segment] = position
        return offset

    def place(self, phase_index: int, order: int, offset: int, length: int) -> None:
        """Remember where a finished unit's records are."""
        self.offsets[phase_index][order] = offset
        self.lengths[phase_index][order] = length

    def read(self, segment: str, offset: int, length: int) -> bytes:
        """`length` bytes of the segment at `offset`."""
        if not length:
            return b""
        return pread_all(self._fd(segment), length, offset)

    def read_unit(self, phase_index: int, order: int, segment: str) -> bytes:
        """A finished unit's records (empty when it had none)."""
        offset = self.offsets[phase_index][order]
        if offset == NO_OUTPUT:
            return b""
        return self.read(segment, offset, self.lengths[phase_index][order])

    def truncate(self, segment: str, size: int) -> None:
        """Cut the segment to `size` bytes (a torn tail, or unjournaled ranges)."""
        fd = self._fd(segment)
        if self._sizes[segment] > size:
            os.ftruncate(fd, size)
            self._sizes[segment] = size

    def sync(self, segments: Iterable[str]) -> None:
        """fsync these segments (and the folder when a segment was created)."""
        for segment in segments:
            os.fsync(self._fds[segment])
        if self._created:
            self._created = False
            fsync_directory(Path(self._root + OUTPUTS))

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
