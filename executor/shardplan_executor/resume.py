"""Resume: which journaled units are finished, checked against their segments.

A journal record is trusted only if the byte range it names still has the
recorded SHA-256, so a record that outlived its bytes (a power loss between
the two) just makes that unit run again. The ranges are checked a segment at
a time, in offset order, over one read of the segment: a finished
million-line run is some 730,000 ranges, and one file read per unit (the
format-1 layout) was most of a resume's time.

Bytes past the last verified range of a segment were written by units that
were never journaled (a kill between a unit's bytes and its record) or whose
bytes did not survive: they are cut off, so the segment grows only from
verified data. A verified range in the middle of a failed one's bytes is
kept; the failed unit runs again and is appended at the end.
"""

from __future__ import annotations

import hashlib
import mmap
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from shardplan_executor.journal import JournalEntry
from shardplan_executor.outputs import sha256_bytes
from shardplan_executor.plan_reader import PhaseShards
from shardplan_executor.store import SegmentStore, segment_of
from shardplan_executor.units import Finished

EMPTY_SHA256 = sha256_bytes(b"")

_Candidate = tuple[int, int, str, int, int]
"""`(offset, length, output_sha256, phase index, order)` of a journaled range."""


def resume_store(
    run_dir: Path,
    entries: Iterable[JournalEntry],
    finished: Finished,
    shards: Sequence[PhaseShards],
    store: SegmentStore,
) -> None:
    """Mark every journaled unit whose shard is unchanged and whose records are intact
    finished, place its range in `store`, and cut each segment after its last verified range.
    """
    candidates: dict[str, list[_Candidate]] = {}
    for entry in entries:
        where = finished.locate(entry.id)
        if where is None:
            continue
        phase_index, shard_index, order = where
        fingerprints = shards[phase_index].fingerprints
        if entry.sha256.encode() != fingerprints[shard_index * 32 : shard_index * 32 + 32]:
            continue
        if entry.output is None:
            if entry.records == 0 and entry.output_sha256 == EMPTY_SHA256:
                finished.add(phase_index, order)
            continue
        if entry.output != segment_of(entry.id) or entry.offset < 0 or entry.length <= 0:
            continue
        candidates.setdefault(entry.output, []).append(
            (entry.offset, entry.length, entry.output_sha256, phase_index, order)
        )
    root = str(run_dir) + os.sep
    for segment in sorted(_segments(run_dir) | candidates.keys()):
        ranges = candidates.get(segment, [])
        ranges.sort()
        keep = _verify_segment(root + segment, ranges, finished, store)
        if store.size(segment) > keep:
            store.truncate(segment, keep)


def _segments(run_dir: Path) -> set[str]:
    """The segments on disk (one may hold only a torn tail, with nothing journaled)."""
    folder = run_dir / "outputs"
    if not folder.is_dir():
        return set()
    return {f"outputs/{path.name}" for path in folder.glob("*.jsonl") if path.is_file()}


def _verify_segment(
    path: str, ranges: list[_Candidate], finished: Finished, store: SegmentStore
) -> int:
    """Check `ranges` (sorted by offset) against the segment; the end of the last good one."""
    if not ranges:
        return 0
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return 0
    try:
        size = os.fstat(fd).st_size
        if not size:
            return 0
        with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as mapped:
            mapped.madvise(mmap.MADV_SEQUENTIAL)
            view = memoryview(mapped)
            try:
                keep = 0
                sha256 = hashlib.sha256
                for offset, length, expected, phase_index, order in ranges:
                    end = offset + length
                    if end > size or sha256(view[offset:end]).hexdigest() != expected:
                        continue
                    finished.add(phase_index, order)
                    store.place(phase_index, order, offset, length)
                    keep = max(keep, end)
                return keep
            finally:
                view.release()
    finally:
        os.close(fd)
