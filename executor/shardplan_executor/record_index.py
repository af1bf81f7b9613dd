"""A unit's inputs (DESIGN §7, §8): earlier phases' records that concern it, found by index.

**Which records.** For each earlier enabled phase, in plan order, the
records of its units in this unit's language (or without a language) that
concern this unit: those whose `line_id` is one of its lines; of those
without a `line_id`, those whose `scene_id` or `route_id` is one of its
scenes or routes; and every record that names none of the three. A record
whose `line_id` is no line of the script concerns no unit. (rentl filters an
earlier phase's output to the shard the same way.) So a one-line edit
changes the inputs of the units that hold that line only, even downstream of
a `full` phase.

**How they are found.** Scanning every upstream record for every unit made
a run quadratic in the script (issue 14). Instead each upstream unit's
output is indexed once, when it is written (or, for a resumed run, when a
later phase first needs it):

- *dense* (nearly always): its records are one per line of its own shard,
  in line order. Nothing is stored per record: the records concerning lines
  `[s, e)` of it are records `[s - start, e - start)`.
- otherwise each record is filed by the line it names (a sorted array of
  `(position, record)` pairs), by scene, by route, or as concerning every
  unit.

A unit's inputs then cost a bisection into the upstream shards it overlaps
plus the pieces it receives: time proportional to what it receives, never
to the size of the script or of the upstream phase (`work` counts the steps,
and a test holds it flat as the script grows).

**Where they live.** Records are not held in memory: they are in the
segments already (`store`). An input is a list of `(upstream shard, first
record, end record)` pieces, read from the segments when the handler reads
it (`RecordSequence`); outputs with many records keep an array of record
offsets so a piece is one `pread`. docs/executor.md says why files plus
offsets beat SQLite here.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, repeat
from typing import overload

import orjson

from shardplan_executor.plan_reader import PhaseShards
from shardplan_executor.source_index import LineTable, Source, find_position, position_lookup
from shardplan_executor.store import SegmentStore, segment_path
from shardplan_executor.units import Unit, languages_of
from shardplan_schemas.plan import PlanPhase
from shardplan_schemas.task import Record

OFFSETS_MIN_RECORDS = 64
"""Outputs with more records than this keep record offsets (8 bytes a record)."""
_SHIFT = 32


def decode_lines(data: bytes) -> list[Record]:
    """Records from JSON Lines bytes (each line one object, as `encode_records` writes)."""
    if not data:
        return []
    value = orjson.loads(b"[" + data[:-1].replace(b"\n", b",") + b"]")
    assert isinstance(value, list)
    return value


@dataclass
class _Upstream:
    """One finished phase in one language (or none): where its records are, by concern."""

    phase: PlanPhase
    language: str | None
    shards: PhaseShards
    start_ids: dict[int, str]
    counts: array[int] = field(default_factory=lambda: array("q"))
    dense: bytearray = field(default_factory=bytearray)
    offsets: dict[int, array[int]] = field(default_factory=dict)
    line_entries: list[tuple[int, int]] = field(default_factory=list)
    """`(line position, seq)` of records not in a dense output; sorted on first query."""
    line_positions: array[int] = field(default_factory=lambda: array("q"))
    line_seqs: array[int] = field(default_factory=lambda: array("q"))
    by_scene: dict[int, list[int]] = field(default_factory=dict)
    by_route: dict[int, list[int]] = field(default_factory=dict)
    everyone: list[int] = field(default_factory=list)

    bases: array[int] = field(default_factory=lambda: array("q"))
    """Where each shard's output starts in the segment."""
    sizes: array[int] = field(default_factory=lambda: array("q"))
    """Each shard's output length in bytes."""

    segment: str = ""
    """The segment holding this phase's outputs in this language."""
    total: int = 0
    """Records of every output indexed so far (none: no unit receives any)."""
    filed: bool = False
    """Some record is filed by line, scene or route or concerns every unit (not dense)."""
    last: tuple[int, int, RecordSequence] | None = None
    """The lines `[start, end)` last asked for and their records: a phase's languages
    follow each other shard by shard, so the next unit often asks again (read-only, so
    the two tasks can share it)."""

    def __post_init__(self) -> None:
        self.segment = segment_path(self.phase.phase, self.language)
        self.counts = array("q", bytes(8 * len(self.shards)))
        self.dense = bytearray(len(self.shards))
        self.bases = array("q", bytes(8 * len(self.shards)))
        self.sizes = array("q", bytes(8 * len(self.shards)))

    def sorted_lines(self) -> tuple[array[int], array[int]]:
        """The filed `(position, seq)` pairs as two arrays sorted by position."""
        if self.line_entries:
            pairs = sorted(
                [*zip(self.line_positions, self.line_seqs, strict=True), *self.line_entries]
            )
            self.line_positions = array("q", (position for position, _ in pairs))
            self.line_seqs = array("q", (seq for _, seq in pairs))
            self.line_entries = []
        return self.line_positions, self.line_seqs


Upstream = _Upstream
"""Public name, for readers of outputs other than `OutputFiles` (the dry run's)."""

Piece = tuple[int, int, int]
"""`(upstream shard index, first record, end record)`."""


class OutputFiles:
    """Reads upstream outputs from the run directory's segments.

    Units run in plan order and a phase's outputs were appended in about
    that order, so consecutive units read nearby bytes of the same few
    segments: every piece is served from the last `WINDOW_BYTES` read of
    its segment (one `pread` serves hundreds of chunk units), and the lines
    of the last `CACHED_OUTPUTS` small outputs that were read in part (a
    scene's records, read by each of its chunks) are kept. Without that,
    one `pread` per piece was a quarter of a run's time.
    """

    def __init__(self, store: SegmentStore | None) -> None:
        self.store = store
        self.records_read = 0
        self._lines: OrderedDict[tuple[str, int], list[bytes]] = OrderedDict()
        self._windows: dict[str, tuple[int, bytes]] = {}
        """Per segment, the last `WINDOW_BYTES` read from it, and where they start."""

    def whole(self, upstream: _Upstream, shard_index: int) -> bytes:
        """An upstream unit's whole output."""
        base = upstream.bases[shard_index]
        return self._range(upstream.segment, base, base + upstream.sizes[shard_index])

    def _range(self, segment: str, start: int, stop: int) -> bytes:
        """Bytes `[start, stop)` of a segment, from its window when they are in it."""
        window = self._windows.get(segment)
        if window is not None:
            at, data = window
            if at <= start and stop <= at + len(data):
                return data[start - at : stop - at]
        assert self.store is not None
        if stop - start >= WINDOW_BYTES:
            return self.store.read(segment, start, stop - start)
        data = self.store.read(segment, start, WINDOW_BYTES)  # shorter at the segment's end
        self._windows[segment] = (start, data)
        return data[: stop - start]

    def read(self, upstream: _Upstream, shard_index: int, first: int, end: int) -> bytes:
        """The JSON Lines of records `[first, end)` of an upstream unit's output."""
        self.records_read += end - first
        base = upstream.bases[shard_index]
        offsets = upstream.offsets.get(shard_index)
        if offsets is not None:
            return self._range(upstream.segment, base + offsets[first], base + offsets[end])
        if first == 0 and end == upstream.counts[shard_index]:
            return self._range(upstream.segment, base, base + upstream.sizes[shard_index])
        key = (upstream.segment, shard_index)
        lines = self._lines.get(key)
        if lines is None:
            lines = self.whole(upstream, shard_index).split(b"\n")
            if len(self._lines) >= CACHED_OUTPUTS:
                self._lines.popitem(last=False)
            self._lines[key] = lines
        return b"\n".join(lines[first:end]) + b"\n"


WINDOW_BYTES = 1 << 18
"""Bytes read at once from a segment: the next units' pieces are likely in them."""
CACHED_OUTPUTS = 256
"""Small upstream outputs whose lines `OutputFiles` keeps (at most 64 records each)."""
KEPT_RAW_BYTES = 1 << 16
"""A one-piece sequence up to this size keeps its bytes once read (see `feed`)."""
PACKED_PIECES = 64
"""A sequence with more pieces keeps them packed in an array (see `RecordSequence`)."""


class RecordSequence(Sequence[Record]):
    """An upstream phase's records for one unit, read from the outputs when read.

    A read-only sequence of JSON objects (index, slice, iterate, `len`);
    `raw()` gives their JSON Lines bytes without decoding them.
    """

    def __init__(self, files: OutputFiles, upstream: _Upstream, pieces: Sequence[Piece]) -> None:
        self._files = files
        self._upstream = upstream
        flat = [value for piece in pieces for value in piece]
        # Packed, three integers a piece, when there are many: an export unit after a
        # `full` phase receives a piece per upstream shard (about 100,000 per phase at a
        # million lines), which as tuples and a list of ends held some 70 MB for the
        # unit's whole run. A chunk unit's few pieces stay a list (cheaper to make).
        self._pieces: Sequence[int] = array("q", flat) if len(pieces) > PACKED_PIECES else flat
        self._length = sum(flat[2::3]) - sum(flat[1::3])
        self._ends_array: array[int] | None = None
        self._raw: bytes | None = None
        """The JSON Lines of a one-piece sequence, once `feed` read them."""

    @property
    def _ends(self) -> array[int]:
        """Where each piece ends in the sequence (made on the first index)."""
        if self._ends_array is None:
            packed = self._pieces
            self._ends_array = array(
                "q",
                accumulate(packed[at + 2] - packed[at + 1] for at in range(0, len(packed), 3)),
            )
        return self._ends_array

    def __len__(self) -> int:
        return self._length

    def _piece_bytes(self, block: int | None = None) -> Iterator[bytes]:
        """Each piece's JSON Lines; with `block`, big pieces in parts of that many records."""
        offsets = self._upstream.offsets
        packed = self._pieces
        read, upstream = self._files.read, self._upstream
        for at in range(0, len(packed), 3):
            shard_index, first, end = packed[at], packed[at + 1], packed[at + 2]
            if block is None or end - first <= block or shard_index not in offsets:
                yield read(upstream, shard_index, first, end)
                continue
            for part in range(first, end, block):
                yield read(upstream, shard_index, part, min(part + block, end))

    def feed(self, update: Callable[[bytes], object]) -> None:
        """Pass the records' JSON Lines to `update` in parts of at most `_BLOCK` records
        (what a digest of the inputs hashes; a loop, not a generator, for chunk units)."""
        if self._raw is not None:
            update(self._raw)
            return
        packed = self._pieces
        if len(packed) == 3 and packed[2] - packed[1] <= _BLOCK:
            # One small piece (a chunk unit's): kept, as the next language's unit of the
            # same shard is handed this very sequence (`_Upstream.last`) and digests it too.
            raw = self._files.read(self._upstream, packed[0], packed[1], packed[2])
            if len(raw) <= KEPT_RAW_BYTES:
                self._raw = raw
            update(raw)
            return
        for part in self._piece_bytes(_BLOCK):
            update(part)

    def raw(self) -> bytes:
        """The records as JSON Lines, in order."""
        return b"".join(self._piece_bytes())

    def raw_parts(self) -> Iterator[bytes]:
        """The records as JSON Lines, in parts of at most `_BLOCK` records."""
        return self._piece_bytes(_BLOCK)

    def __iter__(self) -> Iterator[Record]:
        for data in self._piece_bytes(_BLOCK):
            yield from decode_lines(data)

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        if isinstance(index, slice):
            return list(self)[index]
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError("record index out of range")
        at = bisect_right(self._ends, position)
        shard_index, first = self._pieces[3 * at], self._pieces[3 * at + 1]
        before = self._ends[at - 1] if at else 0
        record = first + position - before
        return decode_lines(self._files.read(self._upstream, shard_index, record, record + 1))[0]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RecordSequence({self._upstream.phase.phase}, {len(self)} records)"


_BLOCK = 4096
"""Records decoded at a time to index an output or to hand a big piece to a handler."""


def _ids_are(records: list[Record], table: LineTable, first_position: int) -> bool:
    """Whether these records name, in order, the lines from `first_position` on."""
    hashes = array("q", map(hash, map(dict.get, records, repeat("line_id"))))
    return hashes == table.id_hashes[first_position : first_position + len(records)]


class InputIndex:
    """Finished phases' records, indexed to gather the inputs of later phases' units."""

    def __init__(
        self,
        store: SegmentStore | None,
        source: Source,
        start_ids: dict[int, str],
        files: OutputFiles | None = None,
    ) -> None:
        self.files = files or OutputFiles(store)
        """Where outputs are read: the run directory, or what `files` reads instead."""
        self._source = source
        self._start_ids = start_ids
        self._phases: list[tuple[int, str, dict[str | None, _Upstream]]] = []
        self._open: dict[tuple[int, str | None], _Upstream] = {}
        self._table: LineTable | None = None
        self._lookup: tuple[array[int], array[int]] | None = None
        self.work = 0
        """Steps spent gathering inputs (upstream shards visited, pieces made): a test's probe."""

    # --- building --------------------------------------------------------------------------

    def table(self) -> LineTable:
        if self._table is None:
            self._table = self._source.line_table()
        return self._table

    def open_phase(self, phase_index: int, phase: PlanPhase, shards: PhaseShards) -> None:
        """Start indexing an enabled phase's outputs (call `add_output` for each unit)."""
        by_language: dict[str | None, _Upstream] = {}
        for language in languages_of(phase):
            upstream = _Upstream(phase, language, shards, self._start_ids)
            by_language[language] = upstream
            self._open[(phase_index, language)] = upstream
        self._phases.append((phase_index, phase.phase, by_language))

    def add_output(
        self, unit: Unit, data: bytes, base: int = 0, records: list[Record] | None = None
    ) -> None:
        """Index one finished unit's output (its JSON Lines bytes, at `base` in its segment).

        `records`, when given, are the output's records as the handler
        returned them (plain dicts that survive the round trip, see
        `records.EncodedRecords`): their ids are read from them instead of
        decoding `data` again. Otherwise records are decoded a block at a
        time: a `full` ingest's output is a million records, which as dicts
        all at once would take a gigabyte.
        """
        upstream = self._open[(unit.phase_index, unit.language)]
        upstream.last = None  # what it held may change
        shard = unit.shard_index
        upstream.bases[shard] = base
        upstream.sizes[shard] = len(data)
        count = data.count(b"\n")
        upstream.counts[shard] = count
        upstream.total += count
        if not count:
            upstream.dense[shard] = 1
            return
        if records is not None and len(records) != count:
            records = None  # not the records of these bytes: decode them
        lines: list[bytes] | None = None
        if count > OFFSETS_MIN_RECORDS:
            lines = data.split(b"\n")
            lines.pop()  # after the last newline
            upstream.offsets[shard] = array(
                "q", accumulate(map((1).__add__, map(len, lines)), initial=0)
            )
        start, end = unit.start, unit.end
        table = self.table()
        if count == end - start:
            if records is not None:
                dense = _ids_are(records, table, start)
            else:
                if lines is None:
                    lines = data.split(b"\n")
                    lines.pop()
                dense = all(
                    _ids_are(
                        decode_lines(b"\n".join(lines[first : first + _BLOCK]) + b"\n"),
                        table,
                        start + first,
                    )
                    for first in range(0, count, _BLOCK)
                )
            if dense:
                upstream.dense[shard] = 1
                return
        del lines
        if records is None:
            records = decode_lines(data)
        self._file_records(upstream, shard, start, end, records, table)

    def _file_records(
        self,
        upstream: _Upstream,
        shard: int,
        start: int,
        end: int,
        records: list[Record],
        table: LineTable,
    ) -> None:
        """File each record of a non-dense output by what it concerns."""
        upstream.filed = True
        own: dict[int, int] | None = None
        base = shard << _SHIFT
        for number, record in enumerate(records):
            seq = base + number
            line_id = record.get("line_id")
            if isinstance(line_id, str):
                wanted = hash(line_id)
                if own is None:
                    own = {table.id_hashes[p]: p for p in range(start, end)}
                position = own.get(wanted)  # a 64-bit hash: a collision is not a concern here
                if position is None:
                    if self._lookup is None:
                        self._lookup = position_lookup(table)
                    position = find_position(self._lookup, line_id, self._source)
                if position is not None:
                    upstream.line_entries.append((position, seq))
                continue  # a line_id no line has: concerns no unit
            scene, route = record.get("scene_id"), record.get("route_id")
            if isinstance(scene, str) or isinstance(route, str):
                if isinstance(scene, str) and scene in table.scene_numbers:
                    upstream.by_scene.setdefault(table.scene_numbers[scene], []).append(seq)
                if isinstance(route, str) and route in table.route_numbers:
                    upstream.by_route.setdefault(table.route_numbers[route], []).append(seq)
                continue
            upstream.everyone.append(seq)

    # --- gathering ---------------------------------------------------------------------------

    def inputs_for(self, unit: Unit) -> dict[str, RecordSequence]:
        """The `inputs` of `unit`'s task: each registered (earlier) phase's records for it."""
        return narrowed_inputs(self, unit)

    def pieces_for(self, upstream: _Upstream, start: int, end: int) -> list[Piece]:
        """Which records of `upstream` concern lines `[start, end)`, in plan order."""
        starts, ends = upstream.shards.starts, upstream.shards.ends
        index = max(bisect_right(starts, start) - 1, 0)
        dense, counts = upstream.dense, upstream.counts
        if not upstream.filed and index < len(starts) and ends[index] >= end:
            # Within one upstream shard, every record of which names its own line: the
            # common case (aligned chunks, a chunk inside a scene or a `full` shard).
            self.work += 1
            if dense[index] and counts[index]:
                return [(index, start - starts[index], end - starts[index])]
            return []
        pieces: list[Piece] = []
        while index < len(starts) and starts[index] < end:
            self.work += 1
            if dense[index] and counts[index]:
                first = max(start, starts[index]) - starts[index]
                last = min(end, ends[index]) - starts[index]
                pieces.append((index, first, last))
            index += 1
        extra: list[int] = []
        if upstream.line_entries or upstream.line_positions:
            positions, seqs = upstream.sorted_lines()
            low, high = bisect_left(positions, start), bisect_left(positions, end)
            extra.extend(seqs[low:high])
        if upstream.by_scene or upstream.by_route:
            table = self.table()
            if upstream.by_scene:
                for scene in set(table.scenes[start:end]):
                    extra.extend(upstream.by_scene.get(scene, ()))
            if upstream.by_route:
                for route in set(table.routes[start:end]):
                    extra.extend(upstream.by_route.get(route, ()))
        extra.extend(upstream.everyone)
        if not extra:
            return pieces
        self.work += len(extra)
        mask = (1 << _SHIFT) - 1
        merged = sorted(
            {(shard, first, last) for shard, first, last in pieces}
            | {(seq >> _SHIFT, seq & mask, (seq & mask) + 1) for seq in set(extra)}
        )
        result: list[Piece] = []
        for piece in merged:
            if result and result[-1][0] == piece[0] and result[-1][2] >= piece[1]:
                previous = result[-1]
                result[-1] = (previous[0], previous[1], max(previous[2], piece[2]))
            else:
                result.append(piece)
        return result


def narrowed_inputs(index: InputIndex, unit: Unit) -> dict[str, RecordSequence]:
    """A unit's narrowed inputs (DESIGN §8), per earlier enabled phase in plan order.

    Each value is a lazy `RecordSequence`; `.raw()` gives its JSON Lines bytes
    (what a digest of the inputs should hash).
    """
    inputs: dict[str, RecordSequence] = {}
    for phase_index, name, by_language in index._phases:
        if phase_index >= unit.phase_index:
            continue
        upstream = by_language.get(None) or by_language.get(unit.language)
        if upstream is None:
            inputs[name] = RecordSequence(index.files, next(iter(by_language.values())), [])
            continue
        last = upstream.last
        if last is not None and last[0] == unit.start and last[1] == unit.end:
            inputs[name] = last[2]  # the same shard in another language: the same records
            continue
        pieces = index.pieces_for(upstream, unit.start, unit.end) if upstream.total else []
        sequence = RecordSequence(index.files, upstream, pieces)
        upstream.last = (unit.start, unit.end, sequence)
        inputs[name] = sequence
    return inputs


InputsOf = Callable[[Unit], Mapping[str, RecordSequence]]
