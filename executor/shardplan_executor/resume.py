"""Resume: which journaled units are finished, checked against their segments.

A journal record is trusted only if the byte range it names still has the
recorded SHA-256, so a record that outlived its bytes (a power loss between
the two) just makes that unit run again. Each range is read and
hashed as its record is read: a finished million-line run is some 730,000
ranges, and one file read per unit (the format-1 layout) was most of a
resume's time.

Bytes past the last verified range of a segment were written by units that
were never journaled (a kill between a unit's bytes and its record) or whose
bytes did not survive: they are cut off, so the segment grows only from
verified data. A verified range in the middle of a failed one's bytes is
kept; the failed unit runs again and is appended at the end.
"""

from __future__ import annotations

from bisect import bisect_left
from hashlib import sha256 as sha256_of
from operator import itemgetter
from pathlib import Path

from shardplan_executor.journal import journal_blocks
from shardplan_executor.outputs import sha256_bytes
from shardplan_executor.store import SegmentStore
from shardplan_executor.units import Finished

EMPTY_SHA256 = sha256_bytes(b"")


def resume_store(run_dir: Path, journal: Path, finished: Finished, store: SegmentStore) -> None:
    """Mark every journaled unit whose shard is unchanged and whose records are intact
    finished, place its range in `store`, and cut each segment after its last verified range.

    The journal is read a block at a time and each record checked field by
    field, without a model or a tuple per record, its range read (`pread`)
    and hashed at once: a resume of a finished million-line run reads
    730,000 of them, and a list of them all to sort by offset first held
    some 160 MB. Journal order is completion order, so each segment is still
    read from start to end, nearly sequentially.
    """
    keep: dict[str, int] = {}
    """Per segment, the end of its last intact range so far."""
    heads = finished.heads()
    position_of = finished.position_of
    read = store.read
    fields = itemgetter("id", "sha256", "output", "offset", "length", "output_sha256", "records")
    for values in journal_blocks(journal):
        for value in values:
            if type(value) is not dict:
                continue
            try:
                unit_id, sha256, output, offset, length, checksum, records = fields(value)
            except KeyError:  # not a record of ours: its unit runs again
                continue
            if (
                type(unit_id) is not str
                or type(sha256) is not str
                or type(checksum) is not str
                or type(offset) is not int
                or type(length) is not int
                or type(records) is not int
            ):
                continue
            head, _, line_id = unit_id.partition(":")
            phase = heads.get(head)
            position = position_of.get(line_id)
            if phase is None or position is None:
                continue
            phase_index, language_index, width, starts, fingerprints = phase
            shard_index = bisect_left(starts, position)
            if shard_index >= len(starts) or starts[shard_index] != position:
                continue
            if sha256.encode() != fingerprints[shard_index * 32 : shard_index * 32 + 32]:
                continue
            order = shard_index * width + language_index
            if output is None:
                if records == 0 and checksum == EMPTY_SHA256:
                    finished.add(phase_index, order)
                continue
            if output != f"outputs/{head}.jsonl" or offset < 0 or length <= 0:
                continue
            if sha256_of(read(output, offset, length)).hexdigest() != checksum:
                continue  # a short read (past the end) fails too
            finished.add(phase_index, order)
            store.place(phase_index, order, offset, length)
            if offset + length > keep.get(output, 0):
                keep[output] = offset + length
    for segment in sorted(_segments(run_dir) | keep.keys()):
        if store.size(segment) > keep.get(segment, 0):
            store.truncate(segment, keep.get(segment, 0))


def _segments(run_dir: Path) -> set[str]:
    """The segments on disk (one may hold only a torn tail, with nothing journaled)."""
    folder = run_dir / "outputs"
    if not folder.is_dir():
        return set()
    return {f"outputs/{path.name}" for path in folder.glob("*.jsonl") if path.is_file()}
