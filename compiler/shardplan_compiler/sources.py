"""The compiler's source reader: one streaming pass, every problem a diagnostic.

Compiling a million-line script must cost at most three times parsing it, so
this reader never builds a `SourceLine` per line. It works on blocks of lines
with C-level `map`s: parse, check the shape of every record by hand (the same
rules `SourceLine` enforces, see `_check_block`), and keep only what sharding
and fingerprints need: the line ids, the file line of each line, one 32-byte
digest per line and the runs of scene and route ids. A block with anything
unusual in it (a blank or broken line, an invalid record, an explicit null, a
duplicate id) is redone line by line on the slow path, which produces the
diagnostics, using `SourceLine` itself for the messages.

The line digest is the SHA-256 of the line as written: for JSONL and TXT the
line's bytes without its line break, for CSV the canonical JSON of the
record's non-empty cells (keys sorted, no whitespace). Hashing the bytes as
written, rather than re-serializing each record, is what keeps compiling
within three times the parse floor; the price is that reformatting a line
(key order, spaces) changes its shard's fingerprint too, which errs on the
side of rerunning. See docs/plan-format.md.
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import pickle
import re
import tempfile
from array import array
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from itertools import repeat
from multiprocessing.connection import Connection
from operator import add, itemgetter, lt, methodcaller
from pathlib import Path
from typing import BinaryIO, cast

import orjson

from shardplan_compiler.boundaries import id_hashes
from shardplan_compiler.sharding import Runs, run_breaks
from shardplan_compiler.two_ended import TwoEndedClaims, can_fork
from shardplan_schemas.diagnostics import Diagnostic, Severity
from shardplan_schemas.primitives import SourceFormat
from shardplan_schemas.source_formats import (
    READ_CHUNK_BYTES,
    SOURCE_FIELDS,
    RecordProblem,
    SourceFormatError,
    describe_invalid_record,
    encoding_problem,
    iter_csv_records,
    iter_line_blocks,
    iter_txt_records,
    json_problem,
)

MAX_REPORTED_RECORD_ERRORS = 20
RECORD_BLOCK = 128  # small blocks stay in the CPU cache (measured: 4096 costs +70%)
DIGEST_SIZE = 32

_ID_MAX = 200
_SPEAKER_MAX = 500
_ID_FULLMATCH = re.compile(r"[a-z]+(?:_[0-9]+)+").fullmatch
# Possessive quantifiers: an id cannot end early (a letter or digit run is taken whole),
# so backtracking never helps, and without it the check of a block is 2-3x faster
# (the outer one too: a further 20-50%).
_IDS_BLOCK_FULLMATCH = re.compile(r"(?:[a-z]++(?:_[0-9]++)++\n)*+[a-z]++(?:_[0-9]++)++").fullmatch
_ALLOWED_FIELDS = frozenset(SOURCE_FIELDS)
_dumps_sorted = partial(orjson.dumps, option=orjson.OPT_SORT_KEYS)
_digest = methodcaller("digest")
_sha256 = hashlib.sha256
_EMPTY_SHA256 = hashlib.sha256()
_Sha256 = type(_EMPTY_SHA256)


def sha256_digests(items: Sequence[bytes]) -> bytes:
    """The 32-byte SHA-256 of each item, concatenated, without a Python call per item.

    Copying one empty hasher is cheaper than making a new one (with
    OpenSSL 3, `hashlib.sha256()` looks the algorithm up each time): about
    20% less for script lines.
    """
    hashers = list(map(_Sha256.copy, repeat(_EMPTY_SHA256, len(items))))
    deque(map(_Sha256.update, hashers, items), maxlen=0)
    return b"".join(map(_Sha256.digest, hashers))


_get_line_id = itemgetter("line_id")
_get_text = itemgetter("text")
_STR_OR_NONE = frozenset({str, type(None)})


class _SlowPath(Exception):
    """The fast path met something it does not handle; redo the block line by line."""


def is_valid_id(value: object) -> bool:
    """The `LineId`/`SceneId`/`RouteId` rule, checked by hand."""
    return type(value) is str and len(value) <= _ID_MAX and _ID_FULLMATCH(value) is not None


@dataclass
class SourceTable:
    """What the compiler keeps of a source file: enough to shard and fingerprint it."""

    path: str
    format: SourceFormat
    sha256: str
    line_ids: list[str]
    line_numbers: array[int]
    digests: bytearray
    scene_runs: Runs
    route_runs: Runs

    def __len__(self) -> int:
        return len(self.line_ids)

    @cached_property
    def id_hashes(self) -> array[int]:
        """`H` of every line id, computed once for every phase with content boundaries."""
        return id_hashes(self.line_ids)

    def where(self, index: int) -> str:
        """`path:line` of the line at `index`."""
        return f"{self.path}:{self.line_numbers[index]}"

    def where_range(self, start: int, end: int) -> str:
        """`path:first-last` of the lines `[start, end)`."""
        first = self.line_numbers[start]
        last = self.line_numbers[end - 1]
        return f"{self.path}:{first}" if first == last else f"{self.path}:{first}-{last}"


@dataclass
class SourceReadResult:
    table: SourceTable | None
    diagnostics: list[Diagnostic]


class _Collector:
    """Accumulates accepted lines and reports problems, the first 20 one by one."""

    def __init__(self, display: str, fmt: SourceFormat) -> None:
        self.display = display
        self.format: SourceFormat = fmt
        self.line_ids: list[str] = []
        self.line_numbers: array[int] = array("I")  # 4 bytes: 4 billion lines
        self.digests = bytearray()
        self.scene_runs = Runs()
        self.route_runs = Runs()
        self.known_scene_ids: set[str | None] = {None}
        self.known_route_ids: set[str | None] = {None}
        self.diagnostics: list[Diagnostic] = []
        self.record_errors = 0
        self.fatal = False
        self.defer_raw_digests = False
        self.ascending = True
        """Every line id so far is larger than the one before: no id can repeat, no set needed."""
        self.seen: set[str] = set()
        """Every line id so far, once they are not in ascending order (a set grown while reading)."""
        self.duplicate_suspected = False

    # -- reporting ---------------------------------------------------------------
    def problem(self, line: int, code: str, message: str, severity: Severity = "error") -> None:
        self.diagnostics.append(
            Diagnostic(
                path=self.display,
                line=max(line, 1),
                column=1,
                severity=severity,
                code=code,
                message=message,
                pointer="",
            )
        )

    def record_error(self, line: int, code: str, message: str) -> None:
        self.record_errors += 1
        if self.record_errors <= MAX_REPORTED_RECORD_ERRORS:
            self.problem(line, code, message)

    def unreadable(self, line: int, message: str) -> None:
        self.problem(line, "SP401", message)
        self.fatal = True

    def stopped(self) -> bool:
        """Whether reading must stop here (an unreadable file or line)."""
        return self.fatal

    # -- the fast path -----------------------------------------------------------
    def accept_block(
        self, numbers: Sequence[int], records: list[object], raws: list[bytes] | None
    ) -> None:
        """Take a block of parsed records, on the fast path when it is all clean.

        `raws` are the JSONL/TXT lines the records came from (their digests
        are over those bytes); None for CSV, digested by canonical JSON.
        """
        try:
            self._fast_block(numbers, records, raws)
        except _SlowPath:
            for index, (number, record) in enumerate(zip(numbers, records, strict=True)):
                self.accept_one(number, record, None if raws is None else raws[index])

    def _fast_block(
        self, numbers: Sequence[int], records: list[object], raws: list[bytes] | None
    ) -> None:
        if not records:
            return
        try:
            # A record that is not an object fails itemgetter/dict.get below.
            dicts: list[dict[str, object]] = records  # type: ignore[assignment]
            fields = set().union(*dicts)
            if not fields <= _ALLOWED_FIELDS:
                raise _SlowPath
            line_ids: list[str] = list(map(_get_line_id, dicts))
            texts: list[str] = list(map(_get_text, dicts))
            joined = "\n".join(line_ids)
            if (
                joined.count("\n") != len(line_ids) - 1
                or _IDS_BLOCK_FULLMATCH(joined) is None
                or max(map(len, line_ids)) > _ID_MAX
            ):
                raise _SlowPath
            "".join(texts)  # a TypeError here means a text that is not a string
            if "" in texts:
                raise _SlowPath
            scene_ids = list(map(dict.get, dicts, repeat("scene_id")))
            route_ids = list(map(dict.get, dicts, repeat("route_id")))
            scene_breaks = run_breaks(scene_ids)
            route_breaks = run_breaks(route_ids)
            # Within a run every value equals the run's first: checking those checks all.
            self._check_ids(scene_ids, scene_breaks, self.known_scene_ids)
            self._check_ids(route_ids, route_breaks, self.known_route_ids)
            if "speaker" in fields:
                speakers = list(map(dict.get, dicts, repeat("speaker")))
                if (
                    set(map(type, speakers)) - _STR_OR_NONE
                    or max(map(len, filter(None, speakers)), default=0) > _SPEAKER_MAX  # type: ignore[arg-type]
                ):
                    raise _SlowPath
            if "metadata" in fields:
                kinds = set(map(type, map(dict.get, dicts, repeat("metadata"))))
                if kinds - {dict, type(None)}:
                    raise _SlowPath
            if raws is None:
                digests = sha256_digests(list(map(_dumps_sorted, dicts)))
            elif self.defer_raw_digests:
                digests = b""
            else:
                digests = sha256_digests(raws)
        except (TypeError, KeyError, orjson.JSONEncodeError) as error:
            raise _SlowPath from error
        self._store(numbers, line_ids, digests, scene_ids, route_ids, scene_breaks, route_breaks)

    @staticmethod
    def _check_ids(values: list[object], breaks: list[int], known: set[str | None]) -> None:
        """Every run's value is None or a valid id; `known` (which holds None) grows with the ids seen.

        Scenes and routes span many lines, so a block holds a few runs, mostly
        of ids seen before, which `issuperset` decides in C without building
        a set.
        """
        firsts = [values[0], *map(values.__getitem__, breaks)]
        if known.issuperset(firsts):  # TypeError on an unhashable value
            return
        for value in set(firsts) - known:
            if not is_valid_id(value):
                raise _SlowPath
            known.add(value)  # type: ignore[arg-type]

    def _store(
        self,
        numbers: Sequence[int],
        line_ids: list[str],
        digests: bytes,
        scene_ids: Sequence[object],
        route_ids: Sequence[object],
        scene_breaks: list[int] | None = None,
        route_breaks: list[int] | None = None,
    ) -> None:
        offset = len(self.line_ids)
        self._append_ids(line_ids, None)
        self.line_numbers.extend(numbers)
        self.digests += digests
        self.scene_runs.extend(offset, scene_ids, scene_breaks)
        self.route_runs.extend(offset, route_ids, route_breaks)

    def _append_ids(self, line_ids: list[str], ascending: bool | None) -> None:
        """Append ids, tracking whether all ids so far ascend (then none can repeat).

        `ascending` says whether `line_ids` ascend among themselves, when the
        caller knows; otherwise it is checked here.
        """
        if self.ascending and not (
            (not self.line_ids or self.line_ids[-1] < line_ids[0])
            and (ascending if ascending is not None else all(map(lt, line_ids, line_ids[1:])))
        ):
            self.ascending = False
            self.seen = set(self.line_ids)
        self.line_ids.extend(line_ids)
        if not self.ascending:
            self.seen.update(line_ids)
            if len(self.seen) != len(self.line_ids):
                self.duplicate_suspected = True

    # -- the slow path -----------------------------------------------------------
    def accept_one(self, number: int, record: object, raw: bytes | None) -> None:
        """Check one record with full diagnostics and keep it when it is valid."""
        problem = describe_invalid_record(record)
        if problem is not None:
            self.record_error(number, "SP403", problem)
            return
        assert isinstance(record, dict)
        line_id = record["line_id"]
        if raw is None:
            digest = _sha256(_dumps_sorted(record)).digest()
        else:
            digest = b"" if self.defer_raw_digests else _sha256(raw).digest()
        self._store(
            (number,), [line_id], digest, [record.get("scene_id")], [record.get("route_id")]
        )

    # -- result ------------------------------------------------------------------
    def merge_segment(self, segment: SegmentResult, first_line: int) -> None:
        """Append a segment the worker read cleanly, whose first line is `first_line`, as if read here."""
        if segment.line_ids:
            line_ids = segment.line_ids.split("\n")
            offset = len(self.line_ids)
            self._append_ids(line_ids, segment.ascending)
            if segment.line_numbers is None:
                self.line_numbers.extend(range(first_line, first_line + len(line_ids)))
            else:
                self.line_numbers.extend(
                    map(add, array("I", segment.line_numbers), repeat(first_line - 1))
                )
            self.digests += segment.digests
            self.scene_runs.append_runs(offset, segment.scene_runs)
            self.route_runs.append_runs(offset, segment.route_runs)

    def check_duplicates(self) -> None:
        """Report each repeated line_id, naming both places.

        Ids in ascending order (the usual numbering of a script) cannot
        repeat; otherwise a set of ids grows while reading. Only a file with
        a duplicate is walked line by line here, to name both places.
        """
        self.seen = set()
        if not self.duplicate_suspected:
            return
        self.duplicate_suspected = False  # reported once, however often this is called
        first_index: dict[str, int] = {}
        for index, line_id in enumerate(self.line_ids):
            earlier = first_index.setdefault(line_id, index)
            if earlier != index:
                self.record_error(
                    self.line_numbers[index],
                    "SP404",
                    f"duplicate line_id {line_id!r}: {self.display}:{self.line_numbers[index]} "
                    f"repeats {self.display}:{self.line_numbers[earlier]}; line ids must be unique",
                )

    def result(self, sha256: str) -> SourceReadResult:
        if not self.fatal:
            self.check_duplicates()
        if self.record_errors > MAX_REPORTED_RECORD_ERRORS:
            hidden = self.record_errors - MAX_REPORTED_RECORD_ERRORS
            self.problem(
                self.diagnostics[-1].line if self.diagnostics else 1,
                "SP406",
                f"{hidden} more record error(s) not shown ({self.record_errors} in all); "
                "fix the ones above and run again",
            )
        if self.fatal or any(d.severity == "error" for d in self.diagnostics):
            return SourceReadResult(None, self.diagnostics)
        table = SourceTable(
            path=self.display,
            format=self.format,
            sha256=sha256,
            line_ids=self.line_ids,
            line_numbers=self.line_numbers,
            digests=self.digests,
            scene_runs=self.scene_runs,
            route_runs=self.route_runs,
        )
        return SourceReadResult(table, self.diagnostics)


def read_source(
    path: Path,
    fmt: SourceFormat,
    display: str | None = None,
    parallel: bool | None = None,
    *,
    worker_first: bool = False,
) -> SourceReadResult:
    """Read, check and condense a source file in one pass.

    `display` is how diagnostics name the file (default: `path` as given).
    Diagnostics are SP401 (unreadable), SP402 (malformed record), SP403
    (invalid line), SP404 (duplicate id), SP405 (CSV columns), SP406 (more
    errors than shown).

    For a large JSONL or TXT file on a machine that can fork, a worker
    process reads alongside this one. For JSONL the file is cut into segments
    of whole lines: this process reads them from the front, the worker (once
    it has hashed the file) from the back, until they meet, so both finish
    together however busy the machine is (see `_read_jsonl_in_two`). For TXT
    the worker hashes the file and every line. The result is the same as
    reading alone, which the tests check. `parallel` forces that on or off
    (default: on for files of `PARALLEL_MIN_BYTES` or more, where it pays for
    the fork); `worker_first` (for the tests) makes this process read only
    the first JSONL segment itself before waiting for the worker, which then
    reads all the others.
    """
    shown = display if display is not None else path.as_posix()
    collector = _Collector(shown, fmt)
    hasher = hashlib.sha256()
    if path.exists() and not path.is_dir() and not path.is_file():
        # A FIFO would block the read forever, a device may never end.
        message = "it is not a regular file (a FIFO, socket or device)"
        collector.unreadable(1, f"cannot read the source {shown}: {message}")
        return collector.result(hasher.hexdigest())
    worker: _SourceWorker | None = None
    sha256: str | None = None
    try:
        before = os.stat(path)
        forked = (
            fmt != "csv"
            and can_fork()
            and (parallel or (parallel is None and before.st_size >= PARALLEL_MIN_BYTES))
        )
        if forked and fmt == "jsonl":
            sha256 = _read_jsonl_in_two(collector, path, before.st_size, worker_first)
        else:
            if forked:
                worker = _SourceWorker(path)
                collector.defer_raw_digests = True
            on_chunk = None if worker is not None else hasher.update
            with path.open("rb") as stream:
                if fmt == "jsonl":
                    _read_jsonl(collector, stream, on_chunk)
                else:
                    _read_records(collector, stream, fmt, on_chunk)
            if worker is None:
                sha256 = hasher.hexdigest()
        if forked:
            after = os.stat(path)
            if (before.st_size, before.st_mtime_ns, before.st_ino) != (
                after.st_size,
                after.st_mtime_ns,
                after.st_ino,
            ):
                collector.unreadable(
                    1, f"the source {shown} changed while it was being read; run again"
                )
    except IsADirectoryError:
        collector.unreadable(1, f"cannot read the source {shown}: it is a directory")
    except FileNotFoundError:
        collector.unreadable(1, f"cannot read the source {shown}: no such file")
    except OSError as error:
        collector.unreadable(1, f"cannot read the source {shown}: {error.strerror or error}")
    except SourceFormatError as error:
        collector.unreadable(error.line or 1, f"cannot read the source {shown}: {error.message}")
    if worker is not None:
        sha256 = _finish_hashing(collector, worker)
    if sha256 is None:
        if not collector.fatal:
            collector.unreadable(1, f"cannot read the source {shown}: the reading worker failed")
        return collector.result("0" * 64)
    return collector.result(sha256)


PARALLEL_MIN_BYTES = 8 << 20
SEGMENT_BYTES = 2 << 20
"""Bytes of a JSONL segment: the two processes end at most one segment apart (about 50 ms)."""
MIN_SEGMENTS = 16
"""Smaller files are still cut in this many segments, so that both processes get some."""


def _segment_bounds(path: Path, size: int) -> list[int]:
    """Offsets that cut the file into segments of whole lines: 0, ..., `size`.

    Each inner offset follows a line break, so a segment's lines are the
    file's lines (a `\\r\\n` is never cut in two).
    """
    step = max(1, min(SEGMENT_BYTES, size // MIN_SEGMENTS))
    bounds = [0]
    with path.open("rb") as stream:
        for target in range(step, size, step):
            if target < bounds[-1]:
                continue
            stream.seek(target)
            window = stream.read(1 << 16)
            at = window.find(b"\n")
            if at >= 0 and target + at + 1 < size:
                bounds.append(target + at + 1)
    bounds.append(size)
    return bounds


class _Limited(io.RawIOBase):
    """The next `limit` bytes of a stream."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        super().__init__()
        self._stream = stream
        self._left = limit

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        wanted = self._left if size is None or size < 0 else min(size, self._left)
        data = self._stream.read(wanted)
        self._left -= len(data)
        return data


@dataclass
class SegmentResult:
    """What the worker read of one segment, compactly: no Python object per line but the ids'.

    Only a segment read without any problem comes back this way; the parent
    reads any other itself, in order, so that its diagnostics are exactly
    those of one sequential read.
    """

    line_count: int
    """Lines in the segment, blank ones included: where the next segment's numbering starts."""
    line_ids: str
    """The accepted lines' ids joined by newlines (an id holds no newline)."""
    line_numbers: bytes | None
    """Their line numbers within the segment (from 1) as `array("I")` bytes; None for 1..count."""
    digests: bytes
    scene_runs: Runs
    route_runs: Runs
    ascending: bool


def _count_lines(
    blocks: Iterator[tuple[int, list[bytes]]], counter: list[int]
) -> Iterator[tuple[int, list[bytes]]]:
    for block in blocks:
        counter[0] += len(block[1])
        yield block


def _read_segment(
    collector: _Collector, stream: BinaryIO, bounds: list[int], index: int, first_line: int
) -> int:
    """Read segment `index` into `collector`, numbering from `first_line`; returns its line count."""
    start, end = bounds[index], bounds[index + 1]
    stream.seek(start)
    counter = [0]
    blocks = iter_line_blocks(
        cast(BinaryIO, _Limited(stream, end - start)), None, first_line, at_start=index == 0
    )
    _read_jsonl_blocks(collector, _count_lines(blocks, counter))
    return counter[0]


def _segment_result(
    stream: BinaryIO, display: str, bounds: list[int], index: int
) -> SegmentResult | None:
    """In the worker: one segment read on its own, or None when it has anything to report."""
    collector = _Collector(display, "jsonl")
    count = _read_segment(collector, stream, bounds, index, 1)
    if collector.fatal or collector.record_errors or collector.diagnostics:
        return None
    numbers = collector.line_numbers
    contiguous = len(numbers) == count and (not count or numbers[-1] == count)
    return SegmentResult(
        line_count=count,
        line_ids="\n".join(collector.line_ids),
        line_numbers=None if contiguous else numbers.tobytes(),
        digests=bytes(collector.digests),
        scene_runs=collector.scene_runs,
        route_runs=collector.route_runs,
        ascending=collector.ascending,
    )


def _segment_worker_main(
    path: str,
    display: str,
    bounds: list[int],
    claims: TwoEndedClaims,
    out: BinaryIO,
    conn: Connection,
) -> None:
    """In the worker: hash the file, then read segments from the back until the parent is met.

    Each clean segment is pickled to `out` (a pipe would block the worker
    until the parent, busy reading, drains it); the parent gets the file's
    SHA-256 and where each segment's result lies: `(index, offset, length)`,
    length -1 for a segment the parent must read itself.
    """
    try:
        with open(path, "rb") as stream:
            sha256 = hashlib.file_digest(stream, "sha256").hexdigest()
            where: list[tuple[int, int, int]] = []
            while (index := claims.back()) is not None:
                result = _segment_result(stream, display, bounds, index)
                if result is None:
                    where.append((index, 0, -1))
                    continue
                data = pickle.dumps(result, pickle.HIGHEST_PROTOCOL)
                where.append((index, out.tell(), len(data)))
                out.write(data)
        out.flush()
        conn.send((sha256, where))
    except BaseException:  # the parent reads whatever is missing itself
        conn.send(None)
    finally:
        conn.close()


def _read_jsonl_in_two(
    collector: _Collector, path: Path, size: int, worker_first: bool = False
) -> str | None:
    """Read a JSONL file with a forked worker; returns the file's SHA-256 (None: not computed).

    The parent reads segments in order from the front straight into
    `collector`; the worker reads from the back, each segment on its own,
    and hands back the clean ones compactly (`SegmentResult`). Then the
    parent appends the worker's segments in order, reading itself any the
    worker found a problem in (or did not get to), so that the first
    problems reported, their count and the stop at an unreadable line are
    those of one sequential read. Because neither process waits for the
    other until the segments run out, the split follows whatever share of
    the machine each gets.
    """
    with path.open("rb") as stream:
        # One sequential read checks the first chunk of the file: so does this one.
        problem = encoding_problem(stream.read(READ_CHUNK_BYTES))
    if problem is not None:
        raise SourceFormatError(problem)
    bounds = _segment_bounds(path, size)
    segments = len(bounds) - 1
    context = multiprocessing.get_context("fork")
    claims = TwoEndedClaims(context, segments, reserved=1)  # segment 0 checks the file's start
    with tempfile.TemporaryFile() as out:
        receive, send = context.Pipe(duplex=False)
        process = context.Process(
            target=_segment_worker_main,
            args=(os.fspath(path), collector.display, bounds, claims, out, send),
            daemon=True,
        )
        process.start()
        send.close()
        try:
            with path.open("rb") as stream:
                next_line = 1
                index: int | None = 0
                first_left = 0  # the parent reads segments 0, 1, ... until the worker's
                while index is not None and not collector.fatal:
                    next_line += _read_segment(collector, stream, bounds, index, next_line)
                    first_left = index + 1
                    index = None if worker_first else claims.front()
                if collector.fatal:
                    claims.stop()
                    return None
                try:
                    message = receive.recv()
                except EOFError:
                    message = None
                sha256, where = message if message is not None else (None, [])
                found = {index: (offset, length) for index, offset, length in where}
                for index in range(first_left, segments):
                    offset, length = found.get(index, (0, -1))
                    if length < 0:
                        next_line += _read_segment(collector, stream, bounds, index, next_line)
                        if collector.stopped():
                            return None
                        continue
                    out.seek(offset)
                    result: SegmentResult = pickle.loads(out.read(length))
                    collector.merge_segment(result, next_line)
                    next_line += result.line_count
        finally:
            receive.close()
            if process.is_alive():
                process.terminate()
            process.join()
    return sha256 if sha256 is not None else _file_sha256(path)


def _file_sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _pick_digests(digests: bytearray, line_total: int, numbers: array[int]) -> bytearray:
    """The digests of the accepted lines, given the digest of every line of the file."""
    count = len(numbers)
    if count == line_total and (count == 0 or (numbers[0] == 1 and numbers[-1] == count)):
        return digests  # every line was accepted: numbers are exactly 1..count
    view = memoryview(digests)
    size = DIGEST_SIZE
    return bytearray(b"".join([view[(n - 1) * size : n * size] for n in numbers]))


def _finish_hashing(collector: _Collector, worker: _SourceWorker) -> str | None:
    """Take the file's SHA-256 and the accepted lines' digests from the hashing worker."""
    done = worker.receive()
    digests = None
    if done is not None:
        if not collector.fatal:
            collector.check_duplicates()  # frees the id set before the digests come in
        digests = worker.digests(done[1])
    worker.close()
    if done is None or digests is None:
        return None
    if not (collector.fatal or any(d.severity == "error" for d in collector.diagnostics)):
        collector.digests = _pick_digests(digests, done[1], collector.line_numbers)
    return done[0]


def _worker_main(path: str, out: BinaryIO, conn: Connection) -> None:
    """In the hashing worker: the SHA-256 of the file and of every line, in one pass."""
    try:
        hasher = hashlib.sha256()
        total = 0
        with open(path, "rb") as stream:
            for _, lines in iter_line_blocks(stream, hasher.update):
                out.write(sha256_digests(lines))
                total += len(lines)
        out.flush()
        conn.send((hasher.hexdigest(), total))
    except BaseException:  # the parent reports the problem from its own read
        conn.send(None)
    finally:
        conn.close()


class _SourceWorker:
    """A forked process that hashes a TXT source and its lines while the parent reads it."""

    def __init__(self, path: Path) -> None:
        context = multiprocessing.get_context("fork")
        self._out = tempfile.TemporaryFile()  # noqa: SIM115  # closed by close()
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_worker_main, args=(os.fspath(path), self._out, send), daemon=True
        )
        self._process.start()
        send.close()

    def receive(self) -> tuple[str, int] | None:
        """Wait for the worker: (file sha256, lines in the file)."""
        try:
            message = self._receive.recv()
        except EOFError:
            message = None
        self._process.join()
        self._receive.close()
        if message is None:
            return None
        sha256, total = message
        return str(sha256), int(total)

    def digests(self, total: int) -> bytearray | None:
        """Every line's digest, as the worker wrote them."""
        digests = bytearray(total * DIGEST_SIZE)
        self._out.seek(0)
        return digests if self._out.readinto(digests) == len(digests) else None

    def close(self) -> None:
        self._out.close()


def _read_jsonl(
    collector: _Collector, stream: BinaryIO, on_chunk: Callable[[bytes], None] | None
) -> None:
    _read_jsonl_blocks(collector, iter_line_blocks(stream, on_chunk))


def _read_jsonl_blocks(collector: _Collector, blocks: Iterator[tuple[int, list[bytes]]]) -> None:
    loads = orjson.loads
    for first_line, lines in blocks:
        for start in range(0, len(lines), RECORD_BLOCK):
            block = lines[start : start + RECORD_BLOCK]
            first = first_line + start
            try:
                records: list[object] = list(map(loads, block))
            except orjson.JSONDecodeError:
                _slow_jsonl_block(collector, first, block)
                if collector.fatal:
                    return
                continue
            collector.accept_block(range(first, first + len(block)), records, block)


def _slow_jsonl_block(collector: _Collector, first: int, block: list[bytes]) -> None:
    """A block with a line that does not parse: blank lines are skipped; problems in line order.

    With only blank lines in the way, the rest still goes through the fast
    path; otherwise every line is checked in turn, so that the first 20
    problems reported are the first 20 of the file.
    """
    parsed: list[tuple[int, object, bytes] | tuple[int, RecordProblem]] = []
    malformed = False
    for offset, raw in enumerate(block):
        number = first + offset
        try:
            parsed.append((number, orjson.loads(raw), raw))
        except orjson.JSONDecodeError as error:
            problem = json_problem(raw, error)
            if problem is not None:
                parsed.append((number, problem))
                malformed = True
    if not malformed:
        good = cast(list[tuple[int, object, bytes]], parsed)
        collector.accept_block(
            [item[0] for item in good], [item[1] for item in good], [item[2] for item in good]
        )
        return
    for item in parsed:
        if len(item) == 2:
            number, problem = item
            if problem.fatal:
                collector.unreadable(number, f"cannot read the source: {problem.message}")
                return
            collector.record_error(number, "SP402", problem.message)
        else:
            number, record, raw = item
            collector.accept_one(number, record, raw)


def _read_records(
    collector: _Collector,
    stream: BinaryIO,
    fmt: SourceFormat,
    on_chunk: Callable[[bytes], None] | None,
) -> None:
    """CSV and TXT: records come from the shared iterators, a block at a time."""
    is_txt = fmt == "txt"
    reader = iter_txt_records if is_txt else iter_csv_records
    numbers: list[int] = []
    records: list[object] = []
    raws: list[bytes] = []

    def flush() -> None:
        collector.accept_block(numbers, records, raws if is_txt else None)
        numbers.clear()
        records.clear()
        raws.clear()

    for item in reader(stream, on_chunk):
        if isinstance(item, RecordProblem):
            if item.fatal:
                flush()
                if item.kind == "columns":
                    collector.problem(item.line, "SP405", item.message)
                    collector.fatal = True
                else:
                    collector.unreadable(item.line, f"cannot read the source: {item.message}")
                return
            collector.record_error(item.line, "SP402", item.message)
            continue
        numbers.append(item[0])
        records.append(item[1])
        if is_txt:
            raws.append(str(item[1]["text"]).encode("utf-8"))
        if len(records) >= RECORD_BLOCK:
            flush()
    flush()
