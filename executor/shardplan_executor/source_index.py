"""The source script by offsets: lines are read when a unit needs them, not all at start.

A million-line script read as one pydantic model a line took 20 s and 1.5 GB
before anything ran. But the source was validated when the plan was
compiled, and its SHA-256 is checked against the plan here, so the executor
only needs to know where each line is. One streaming pass hashes the file,
records each non-blank line's byte range (two integers a line) and parses
the lines at shard starts, whose ids the plan's keys must name. A unit's
`SourceLine`s are built from their bytes when it is dispatched (`LazyLines`).

`line_table()` adds, on first use, what narrowing a unit's inputs needs
(DESIGN §8): a hash of each line's id and the scene and route of each line,
as integer arrays.

JSONL is read this way (JSON Lines: one record a line, blank lines skipped,
`\\r\\n` allowed, a UTF-8 byte order mark dropped, as the compiler reads it).
CSV and TXT sources, small by nature, are read whole through the shared
reader (`LoadedSource`) and offer the same interface.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate, islice, repeat
from pathlib import Path
from typing import Protocol, overload

import orjson
from pydantic import JsonValue

from shardplan_schemas.source import SourceLine
from shardplan_schemas.source_formats import SourceFormatError, read_source_lines

READ_BYTES = 1 << 22
LINES_PER_BLOCK = 1024
"""Lines decoded at a time when a unit's lines are iterated: memory stays flat."""
_NO_ID = 0


_ABSENT: dict[str, JsonValue] = dict.fromkeys(
    ("line_id", "scene_id", "route_id", "speaker", "text", "metadata")
)
_new_line = SourceLine.__new__
_set = object.__setattr__


def source_line(record: dict[str, JsonValue]) -> SourceLine:
    """A `SourceLine` from a record of the verified source, without validating it again.

    The source's SHA-256 matched the plan, so this is the record the compiler
    validated (`SourceLine` forbids extra keys, so the record's keys are
    fields); `model_validate` would cost a third of the run. A handler that
    reads its lines builds one per line: 1,100,000 at 100,000 lines with
    rentl's defaults, so this is kept to a few C-level steps.
    """
    line = _new_line(SourceLine)
    _set(line, "__dict__", {**_ABSENT, **record})
    _set(line, "__pydantic_fields_set__", set(record))
    _set(line, "__pydantic_extra__", None)
    _set(line, "__pydantic_private__", None)
    return line


@dataclass
class LineTable:
    """Per line: a hash of its id, and its scene and route as small integers (0: none)."""

    id_hashes: array[int]
    scenes: array[int]
    routes: array[int]
    scene_numbers: dict[str, int]
    route_numbers: dict[str, int]


class Source(Protocol):
    """What the executor needs of the source."""

    line_count: int

    def records(self, start: int, end: int) -> list[dict[str, JsonValue]]:
        """The raw records of lines `[start, end)`."""

    def raw_lines(self, start: int, end: int) -> list[bytes]:
        """The JSON of lines `[start, end)`, one object each."""

    def line_table(self) -> LineTable:
        """Id hashes, scenes and routes of every line (built on first use)."""

    def close(self) -> None:
        """Release the file."""


def _numbered(names: dict[str, int], values: list[object]) -> array[int]:
    """Each value's number in `names` (1, 2, ... in order of first appearance; 0: not a
    string), numbering new names. `map`s in C: a value at a time, a million lines took
    seconds."""
    try:
        distinct = dict.fromkeys(values)
    except TypeError:  # an unhashable value (not in a verified source): not a name
        values = [value if isinstance(value, str) else None for value in values]
        distinct = dict.fromkeys(values)
    lookup: dict[object, int] = {}
    for value in distinct:
        lookup[value] = (
            names.setdefault(value, len(names) + 1) if isinstance(value, str) else _NO_ID
        )
    return array("l", map(lookup.__getitem__, values))


def _table_of(blocks: Iterable[list[dict[str, JsonValue]]]) -> LineTable:
    table = LineTable(array("q"), array("l"), array("l"), {}, {})
    for records in blocks:
        table.id_hashes.extend(map(hash, map(dict.get, records, repeat("line_id"))))
        table.scenes.extend(
            _numbered(table.scene_numbers, list(map(dict.get, records, repeat("scene_id"))))
        )
        table.routes.extend(
            _numbered(table.route_numbers, list(map(dict.get, records, repeat("route_id"))))
        )
    return table


class JsonlSource:
    """A JSONL source read by byte ranges; see the module docstring."""

    def __init__(self, path: Path, starts: array[int], ends: array[int]) -> None:
        self.path = path
        self.starts = starts
        self.ends = ends
        self.line_count = len(starts)
        self._fd = os.open(path, os.O_RDONLY)
        self._table: LineTable | None = None

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def raw_lines(self, start: int, end: int) -> list[bytes]:
        """The bytes of lines `[start, end)`, one read for the whole range."""
        if start >= end:
            return []
        base = self.starts[start]
        block = os.pread(self._fd, self.ends[end - 1] - base, base)
        if block.count(b"\n") == end - start - 1:  # no blank line in between
            return block.split(b"\n")
        return [
            block[s - base : e - base]
            for s, e in zip(self.starts[start:end], self.ends[start:end], strict=True)
        ]

    def records(self, start: int, end: int) -> list[dict[str, JsonValue]]:
        if start >= end:
            return []
        base = self.starts[start]
        block = os.pread(self._fd, self.ends[end - 1] - base, base)
        if block.count(b"\n") == end - start - 1:  # no blank line in between: no split
            joined = block.replace(b"\n", b",")
        else:
            joined = b",".join(self.raw_lines(start, end))
        value = orjson.loads(b"[" + joined + b"]")
        assert isinstance(value, list)
        return value

    def line_table(self) -> LineTable:
        if self._table is None:
            step = 1 << 14
            self._table = _table_of(
                self.records(start, min(start + step, self.line_count))
                for start in range(0, self.line_count, step)
            )
        return self._table


class LoadedSource:
    """A CSV or TXT source, read whole through the shared reader (they are small)."""

    def __init__(self, lines: list[SourceLine]) -> None:
        self._lines = lines
        self.line_count = len(lines)
        self._table: LineTable | None = None

    def records(self, start: int, end: int) -> list[dict[str, JsonValue]]:
        return [line.model_dump(exclude_unset=True) for line in self._lines[start:end]]

    def raw_lines(self, start: int, end: int) -> list[bytes]:
        return [
            line.model_dump_json(exclude_unset=True).encode() for line in self._lines[start:end]
        ]

    def line_table(self) -> LineTable:
        if self._table is None:
            self._table = _table_of([[line.model_dump() for line in self._lines]])
        return self._table

    def close(self) -> None:
        return None


class LazyLines(Sequence[SourceLine]):
    """A unit's lines, `[start, end)` of the source, built block by block as they are read.

    Handlers see a read-only sequence (index it, slice it, iterate it, take
    its `len`); a full-script unit then never holds a million models at once
    unless its handler keeps them.
    """

    def __init__(self, source: Source, start: int, end: int) -> None:
        self._source = source
        self._start = start
        self._end = end

    def __len__(self) -> int:
        return self._end - self._start

    @overload
    def __getitem__(self, index: int) -> SourceLine: ...

    @overload
    def __getitem__(self, index: slice) -> list[SourceLine]: ...

    def __getitem__(self, index: int | slice) -> SourceLine | list[SourceLine]:
        if isinstance(index, slice):
            first, last, step = index.indices(len(self))
            if step != 1:
                return list(self)[index]
            return list(
                map(source_line, self._source.records(self._start + first, self._start + last))
            )
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError("line index out of range")
        at = self._start + position
        return source_line(self._source.records(at, at + 1)[0])

    def __iter__(self) -> Iterator[SourceLine]:
        if self._end - self._start <= LINES_PER_BLOCK:  # a chunk's or a scene's: no generator
            return map(source_line, self._source.records(self._start, self._end))
        return self._blocks()

    def _blocks(self) -> Iterator[SourceLine]:
        for first in range(self._start, self._end, LINES_PER_BLOCK):
            yield from map(
                source_line, self._source.records(first, min(first + LINES_PER_BLOCK, self._end))
            )

    def __repr__(self) -> str:
        return f"LazyLines([{self._start}, {self._end}))"

    def raw_json(self) -> bytes:
        """The lines as one JSON array, spliced from the source's bytes."""
        return b"[" + b",".join(self._source.raw_lines(self._start, self._end)) + b"]"

    def line_ids(self) -> list[str]:
        """The lines' ids, without building the models."""
        ids: list[str] = []
        for first in range(self._start, self._end, LINES_PER_BLOCK):
            block = self._source.records(first, min(first + LINES_PER_BLOCK, self._end))
            ids.extend(str(record.get("line_id")) for record in block)
        return ids


@dataclass
class ScannedSource:
    """What one pass over the source found."""

    source: Source
    sha256: str
    ids_at: dict[int, str]
    """The line id at each requested position (a shard start)."""


def scan_source(
    path: Path, fmt: str, expected_sha256: str, positions: Iterable[int]
) -> ScannedSource | str:
    """Hash the source and index its lines; the actual sha256 when it does not match.

    Raises `OSError` when the file cannot be read and `SourceFormatError`
    when a CSV or TXT source does not parse.
    """
    wanted = sorted(set(positions))
    if fmt != "jsonl":
        digest = _sha256_file(path)
        if digest != expected_sha256:
            return digest
        lines = read_source_lines(path, fmt)  # type: ignore[arg-type]
        ids = {at: lines[at].line_id for at in wanted if at < len(lines)}
        return ScannedSource(LoadedSource(lines), digest, ids)
    hasher = hashlib.sha256()
    starts: array[int] = array("q")
    ends: array[int] = array("q")
    ids_at: dict[int, str] = {}
    next_wanted = 0
    offset = 0
    carry = b""
    with path.open("rb") as stream:
        first = True
        while True:
            chunk = stream.read(READ_BYTES)
            hasher.update(chunk)
            if first:
                first = False
                if chunk.startswith(codecs.BOM_UTF8):
                    offset = len(codecs.BOM_UTF8)
                    chunk = chunk[offset:]
            if not chunk:
                data = carry + b"\n" if carry.strip() else b""
            else:
                data = carry + chunk if carry else chunk
            cut = data.rfind(b"\n") + 1
            complete, carry = data[:cut], data[cut:]
            if complete:
                count_before = len(starts)
                _index_block(complete, offset, starts, ends)
                while next_wanted < len(wanted) and wanted[next_wanted] < len(starts):
                    at = wanted[next_wanted]
                    if at >= count_before:
                        record = _parse(complete[starts[at] - offset : ends[at] - offset])
                        line_id = record.get("line_id") if isinstance(record, dict) else None
                        ids_at[at] = line_id if isinstance(line_id, str) else repr(line_id)
                    next_wanted += 1
                offset += len(complete)
            if not chunk:
                break
    digest = hasher.hexdigest()
    if digest != expected_sha256:
        return digest
    return ScannedSource(JsonlSource(path, starts, ends), digest, ids_at)


def _parse(raw: bytes) -> object:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


_LINE_STARTS_WITH_SPACE = re.compile(rb"\n[ \t\r\n\f\v]")
"""A newline followed by whitespace. One regex search (which finds each newline with
`memchr`) took 3 ms a 4 MiB block; six `in` scans, one per character, took 27 ms."""


def _may_hold_blank_lines(block: bytes) -> bool:
    """False when no line of `block` starts with whitespace (so none is blank)."""
    if block[:1] in (b" ", b"\t", b"\r", b"\n", b"\f", b"\v"):
        return True
    return _LINE_STARTS_WITH_SPACE.search(block) is not None


def _index_block(block: bytes, offset: int, starts: array[int], ends: array[int]) -> None:
    """Append the byte ranges of the non-blank lines of `block` (whole lines, each ending in `\\n`)."""
    lines = block.split(b"\n")
    lines.pop()  # after the last newline
    if not _may_hold_blank_lines(block):
        lengths = list(map(len, lines))
        first = list(
            accumulate(map((1).__add__, islice(lengths, len(lengths) - 1)), initial=offset)
        )
        starts.extend(first)
        ends.extend(map(int.__add__, first, lengths))
        return
    position = offset
    for line in lines:
        if line.strip():
            starts.append(position)
            ends.append(position + len(line))
        position += len(line) + 1


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(READ_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def position_lookup(table: LineTable) -> tuple[array[int], array[int]]:
    """The id hashes sorted, with each one's line position: for `bisect` lookups by id."""
    order = sorted(range(len(table.id_hashes)), key=table.id_hashes.__getitem__)
    return array("q", map(table.id_hashes.__getitem__, order)), array("q", order)


def find_position(
    lookup: tuple[array[int], array[int]], line_id: str, source: Source
) -> int | None:
    """The position of the line with id `line_id`, or None (hash collisions checked)."""
    hashes, positions = lookup
    wanted = hash(line_id)
    at = bisect_left(hashes, wanted)
    while at < len(hashes) and hashes[at] == wanted:
        position = positions[at]
        if source.records(position, position + 1)[0].get("line_id") == line_id:
            return position
        at += 1
    return None


__all__ = [
    "JsonlSource",
    "LazyLines",
    "LineTable",
    "LoadedSource",
    "ScannedSource",
    "Source",
    "SourceFormatError",
    "find_position",
    "position_lookup",
    "scan_source",
    "source_line",
]
