"""Resume: which journaled units are finished, checked against their segments.

A journal record is trusted only if the byte range it names still has the
recorded SHA-256, so a record that outlived its bytes (a power loss between
the two) just makes that unit run again. Each range is read and
hashed as its record is read: a finished million-line run is some 730,000
ranges, and one file read per unit (the format-1 layout) was most of a
resume's time.

A phase with a seal (`seal`) that verifies is placed from the seal's index
instead: one sequential hash per segment and one of the journal's sealed
prefix stand for its 100,000s of records, which are skipped without being
parsed. Only the phase's records after the seal (normally none) are
replayed, on top, as without one.

Bytes past the last verified range of a segment were written by units that
were never journaled (a kill between a unit's bytes and its record) or whose
bytes did not survive: they are cut off, so the segment grows only from
verified data. A verified range in the middle of a failed one's bytes is
kept; the failed unit runs again and is appended at the end.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from hashlib import sha256 as sha256_of
from pathlib import Path

import orjson

from shardplan_executor.journal import journal_chunks, parse_lines, record_fields
from shardplan_executor.outputs import sha256_bytes
from shardplan_executor.seal import (
    JournalDigest,
    Seal,
    index_fits,
    prefix_sha256,
    read_seal,
    write_seal,
)
from shardplan_executor.store import SegmentStore, segment_path
from shardplan_executor.units import Finished, Head, languages_of
from shardplan_schemas.plan import PlanPhase

EMPTY_SHA256 = sha256_bytes(b"")
HASH_THREADS = 2
"""Threads hashing seals' segments and journal prefix at a resume (the machine's cores)."""
_SAMPLED_LINES = 8
"""Line starts sampled in a sealed block to guess its heads before counting them."""


class Sealer:
    """Which phases hold a seal that still stands, and seals the others once they finish."""

    def __init__(
        self, run_dir: Path, journal: Path, plan_id: str, phases: Sequence[PlanPhase]
    ) -> None:
        self.run_dir = run_dir
        self.journal = journal
        self.plan_id = plan_id
        self.phases = list(phases)
        self.sealed: set[int] = set()
        """Phases whose seal verified and has no record of the phase after it."""
        self.digest = JournalDigest(journal)

    def seal_finished(
        self, phase_index: int, finished: Finished, store: SegmentStore, *, fsync: bool
    ) -> bool:
        """Seal the phase if every unit of it is finished (and durable) and it is not sealed.

        Called once the phase's group commit has drained. A seal that cannot
        be written (a full disk) is no loss: the next resume reads the journal.
        """
        if phase_index in self.sealed or finished.remaining(phase_index):
            return False
        phase = self.phases[phase_index]
        try:
            written = write_seal(
                self.run_dir,
                plan_id=self.plan_id,
                phase=phase.phase,
                phase_index=phase_index,
                segments=_segments_of(phase),
                store=store,
                journal=self.digest,
                journal_bytes=os.path.getsize(self.journal),
                fsync=fsync,
            )
        except OSError:
            return False
        if written:
            self.sealed.add(phase_index)
        return written


def _segments_of(phase: PlanPhase) -> list[str]:
    return [segment_path(phase.phase, language) for language in languages_of(phase)]


def _heads_of(phase: PlanPhase) -> list[str]:
    return [
        phase.phase if language is None else f"{phase.phase}.{language}"
        for language in languages_of(phase)
    ]


def _verified_seals(
    run_dir: Path,
    plan_id: str,
    phases: Sequence[PlanPhase],
    finished: Finished,
    digest: JournalDigest,
) -> dict[int, Seal]:
    """The phases whose seal matches the plan, its segments and the journal's first bytes.

    The hashes (the journal's sealed prefix, each sealed segment: some 800 MB
    at a million lines) run on two threads: `hashlib` releases the GIL.
    """
    candidates: dict[int, Seal] = {}
    for phase_index, phase in enumerate(phases):
        if not phase.enabled:
            continue
        seal = read_seal(run_dir, phase.phase)
        if seal is None:
            continue
        header = seal.header
        if (
            header.plan_id == plan_id
            and header.phase == phase.phase
            and header.phase_index == phase_index
            and header.units == len(finished.flags[phase_index])
            and [segment.path for segment in header.segments] == _segments_of(phase)
            and index_fits(seal, len(header.segments))
        ):
            candidates[phase_index] = seal
    if not candidates:
        return {}
    ends = sorted({seal.header.journal_bytes for seal in candidates.values()})
    with ThreadPoolExecutor(max_workers=HASH_THREADS) as pool:
        journal = pool.submit(lambda: {end: digest.at(end) for end in ends})
        segments = {
            (phase_index, segment.path): pool.submit(
                prefix_sha256, run_dir / segment.path, segment.size
            )
            for phase_index, seal in candidates.items()
            for segment in seal.header.segments
        }
        journal_sha256 = journal.result()
    return {
        phase_index: seal
        for phase_index, seal in candidates.items()
        if journal_sha256[seal.header.journal_bytes] == seal.header.journal_sha256
        and all(
            segments[phase_index, segment.path].result() == segment.sha256
            for segment in seal.header.segments
        )
    }


def _prefix(head: str) -> bytes:
    """How a journal line of a unit with this head starts: `{"id":"<head>:`."""
    return b'{"id":' + orjson.dumps(head)[:-1] + b":"


def _skip_prefixes(phases: Sequence[PlanPhase], covered: frozenset[int]) -> list[bytes]:
    """Line starts that mark the records of the `covered` phases.

    One per phase, `{"id":"<phase>`, when no phase name of the plan begins
    with another (rentl's never do): a line that starts so is a record of
    that phase or names no unit at all, and both are skipped alike. Else one
    per head, `{"id":"<phase>[.<lang>]:`.
    """
    names = [phase.phase for phase in phases]
    if any(a != b and a.startswith(b) for a in names for b in names):
        return [_prefix(head) for i in sorted(covered) for head in _heads_of(phases[i])]
    return [b'{"id":' + orjson.dumps(phases[i].phase)[:-1] for i in sorted(covered)]


def _only_lines_of(data: bytes, prefixes: Sequence[bytes]) -> bool:
    """Whether every line of `data` (whole lines) starts with one of `prefixes`.

    Counted with C-level `bytes.count`, the heads seen at a few sampled
    line starts first, so a block of one phase (in one or two languages)
    costs a scan or two. No line matches two prefixes (a head holds no `:`).
    """
    lines = data.count(b"\n")
    step = max(1, len(data) // _SAMPLED_LINES)
    starts = [0, *(data.find(b"\n", at, len(data) - 1) + 1 for at in range(step, len(data), step))]
    seen = {prefix for at in starts for prefix in prefixes if data.startswith(prefix, at)}
    found = 0
    for prefix in sorted(prefixes, key=lambda p: p not in seen):
        found += data.startswith(prefix) + data.count(b"\n" + prefix)
        if found >= lines:
            break
    return found == lines


def resume_store(
    run_dir: Path,
    journal: Path,
    finished: Finished,
    store: SegmentStore,
    plan_id: str,
    phases: Sequence[PlanPhase],
) -> Sealer:
    """Mark every journaled unit whose shard is unchanged and whose records are intact
    finished, place its range in `store`, and cut each segment after its last verified range.

    Sealed phases that verify are placed in bulk first (see `seal`). The
    journal is then read a block at a time: a block of only sealed records is
    skipped unparsed; in the others each record is checked field by field,
    without a model or a tuple per record, its range read (`pread`) and hashed
    at once: a list of them all to sort by offset first held some 160 MB at a
    million lines. Journal order is completion order, so each segment is
    still read from start to end, nearly sequentially.

    Returns the `Sealer` that seals the phases that finish in this run.
    """
    sealer = Sealer(run_dir, journal, plan_id, phases)
    seals = _verified_seals(run_dir, plan_id, phases, finished, sealer.digest)
    keep: dict[str, int] = {}
    """Per segment, the end of its last intact range so far."""
    for phase_index, seal in seals.items():
        store.offsets[phase_index][:] = seal.offsets
        store.lengths[phase_index][:] = seal.lengths
        finished.add_all(phase_index)
        for sealed in seal.header.segments:
            keep[sealed.path] = max(keep.get(sealed.path, 0), sealed.size)
    all_heads = finished.heads()
    sealed_heads = {i: _heads_of(phases[i]) for i in seals}
    replayed: set[int] = set()
    """Sealed phases with records after their seal."""
    views: dict[frozenset[int], tuple[list[bytes], dict[str, Head]]] = {}
    position_of = finished.position_of
    read = store.read
    stops = [seal.header.journal_bytes for seal in seals.values()]
    for begin, data in journal_chunks(journal, stops):
        end = begin + len(data)
        covering = frozenset(i for i, seal in seals.items() if seal.header.journal_bytes >= end)
        view = views.get(covering)
        if view is None:
            skipped = {head for i in covering for head in sealed_heads[i]}
            view = views[covering] = (
                _skip_prefixes(phases, covering),
                {head: value for head, value in all_heads.items() if head not in skipped},
            )
        prefixes, heads = view
        if prefixes and _only_lines_of(data, prefixes):
            continue
        for value in parse_lines(data):
            if type(value) is not dict:
                continue
            checked = record_fields(value)
            if checked is None:  # not a record of ours: its unit runs again
                continue
            unit_id, sha256, output, offset, length, checksum, records = checked
            head, _, line_id = unit_id.partition(":")
            phase = heads.get(head)
            position = position_of.get(line_id)
            if phase is None or position is None:
                continue
            phase_index, language_index, width, starts, fingerprints = phase
            if phase_index in seals:
                replayed.add(phase_index)
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
    sealer.sealed = set(seals) - replayed
    return sealer


def _segments(run_dir: Path) -> set[str]:
    """The segments on disk (one may hold only a torn tail, with nothing journaled)."""
    folder = run_dir / "outputs"
    if not folder.is_dir():
        return set()
    return {f"outputs/{path.name}" for path in folder.glob("*.jsonl") if path.is_file()}
