"""The compiler's source reader, its core: checks blocks of lines and keeps what sharding needs.

`SourceCollector` takes blocks of parsed records (the fast path checks a
block with C-level `map`s; anything unusual is redone line by line on the
slow path, which produces the diagnostics) and condenses them into a
`SourceTable`. The readers of each format feed it (`read_jsonl`,
`read_records`); `sources.read_source` is the entry point, and
`source_segments` reads a big JSONL file in two processes into it.
"""

from __future__ import annotations

import hashlib
import re
from array import array
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from itertools import repeat
from operator import add, itemgetter, lt, methodcaller
from typing import BinaryIO, cast

import orjson

from shardplan_compiler.boundaries import id_hashes
from shardplan_compiler.sharding import Runs, run_breaks
from shardplan_schemas.diagnostics import Diagnostic, Severity
from shardplan_schemas.primitives import SourceFormat
from shardplan_schemas.source_formats import (
    SOURCE_FIELDS,
    RecordProblem,
    describe_invalid_record,
    iter_csv_records,
    iter_line_blocks,
    iter_txt_records,
    json_problem,
)
from shardplan_schemas.vocabulary import ID_MAX_LENGTH

MAX_REPORTED_RECORD_ERRORS = 20
RECORD_BLOCK = 128  # small blocks stay in the CPU cache (measured: 4096 costs +70%)
DIGEST_SIZE = 32

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
    return type(value) is str and len(value) <= ID_MAX_LENGTH and _ID_FULLMATCH(value) is not None


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


class SourceCollector:
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
                or max(map(len, line_ids)) > ID_MAX_LENGTH
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


def read_jsonl(
    collector: SourceCollector, stream: BinaryIO, on_chunk: Callable[[bytes], None] | None
) -> None:
    read_jsonl_blocks(collector, iter_line_blocks(stream, on_chunk))


def read_jsonl_blocks(
    collector: SourceCollector, blocks: Iterator[tuple[int, list[bytes]]]
) -> None:
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


def _slow_jsonl_block(collector: SourceCollector, first: int, block: list[bytes]) -> None:
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


def read_records(
    collector: SourceCollector,
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
