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
import multiprocessing
import os
import re
import sys
import tempfile
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import repeat
from multiprocessing.connection import Connection
from operator import is_not, itemgetter, methodcaller
from pathlib import Path
from typing import BinaryIO

import orjson

from shardplan_compiler.sharding import Runs
from shardplan_schemas.diagnostics import Diagnostic, Severity
from shardplan_schemas.primitives import SourceFormat
from shardplan_schemas.source_formats import (
    SOURCE_FIELDS,
    RecordProblem,
    SourceFormatError,
    describe_invalid_record,
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
_IDS_BLOCK_FULLMATCH = re.compile(r"(?:[a-z]+(?:_[0-9]+)+\n)*[a-z]+(?:_[0-9]+)+").fullmatch
_ALLOWED_FIELDS = frozenset(SOURCE_FIELDS)
_dumps_sorted = partial(orjson.dumps, option=orjson.OPT_SORT_KEYS)
_digest = methodcaller("digest")
_sha256 = hashlib.sha256
_get_line_id = itemgetter("line_id")
_get_text = itemgetter("text")
_is_not_none = partial(is_not, None)


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
        self.known_scene_ids: set[str] = set()
        self.known_route_ids: set[str] = set()
        self.diagnostics: list[Diagnostic] = []
        self.record_errors = 0
        self.fatal = False
        self.defer_raw_digests = False
        """True when a `_DigestWorker` hashes the raw lines: skip them here."""

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
            self._check_ids(scene_ids, self.known_scene_ids)
            self._check_ids(route_ids, self.known_route_ids)
            if "speaker" in fields:
                speakers: list[str] = list(
                    filter(_is_not_none, map(dict.get, dicts, repeat("speaker")))  # type: ignore[arg-type]
                )
                if (
                    set(map(type, speakers)) - {str}
                    or max(map(len, speakers), default=0) > _SPEAKER_MAX
                ):
                    raise _SlowPath
            if "metadata" in fields:
                kinds = set(map(type, map(dict.get, dicts, repeat("metadata"))))
                if kinds - {dict, type(None)}:
                    raise _SlowPath
            if raws is None:
                digests = b"".join(map(_digest, map(_sha256, map(_dumps_sorted, dicts))))
            elif self.defer_raw_digests:
                digests = b""
            else:
                digests = b"".join(map(_digest, map(_sha256, raws)))
        except (TypeError, KeyError, orjson.JSONEncodeError) as error:
            raise _SlowPath from error
        self._store(numbers, line_ids, digests, scene_ids, route_ids)

    @staticmethod
    def _check_ids(values: list[object], known: set[str]) -> None:
        for value in set(values) - known:  # TypeError on an unhashable value
            if value is None:
                continue
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
    ) -> None:
        offset = len(self.line_ids)
        self.line_ids.extend(line_ids)
        self.line_numbers.extend(numbers)
        self.digests += digests
        self.scene_runs.extend(offset, scene_ids)
        self.route_runs.extend(offset, route_ids)

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
    def check_duplicates(self) -> None:
        """Report each repeated line_id, naming both places.

        Done once at the end with one set (cheaper than checking every block),
        and only walked line by line when there is a duplicate.
        """
        if len(set(self.line_ids)) == len(self.line_ids):
            return
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
    path: Path, fmt: SourceFormat, display: str | None = None, parallel: bool | None = None
) -> SourceReadResult:
    """Read, check and condense a source file in one pass.

    `display` is how diagnostics name the file (default: `path` as given).
    Diagnostics are SP401 (unreadable), SP402 (malformed record), SP403
    (invalid line), SP404 (duplicate id), SP405 (CSV columns), SP406 (more
    errors than shown).

    For a large JSONL or TXT file on a machine that can fork, a worker
    process reads the file alongside this one and computes the file's SHA-256
    and the line digests (the hashing is a third of the work), while this
    process parses and checks. `parallel` forces that on or off (default: on
    for files of `PARALLEL_MIN_BYTES` or more, where it pays for the fork).
    """
    shown = display if display is not None else path.as_posix()
    collector = _Collector(shown, fmt)
    hasher = hashlib.sha256()
    if path.exists() and not path.is_dir() and not path.is_file():
        # A FIFO would block the read forever, a device may never end.
        message = "it is not a regular file (a FIFO, socket or device)"
        collector.unreadable(1, f"cannot read the source {shown}: {message}")
        return collector.result(hasher.hexdigest())
    worker: _DigestWorker | None = None
    try:
        before = os.stat(path)
        if (
            fmt != "csv"
            and _DigestWorker.available()
            and (parallel or (parallel is None and before.st_size >= PARALLEL_MIN_BYTES))
        ):
            worker = _DigestWorker(path)
            collector.defer_raw_digests = True
        on_chunk = None if worker is not None else hasher.update
        with path.open("rb") as stream:
            if fmt == "jsonl":
                _read_jsonl(collector, stream, on_chunk)
            else:
                _read_records(collector, stream, fmt, on_chunk)
        if worker is not None:
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
    if worker is None:
        return collector.result(hasher.hexdigest())
    hashed = worker.finish()
    if collector.fatal or any(d.severity == "error" for d in collector.diagnostics):
        return collector.result("0" * 64)
    if hashed is None:
        collector.unreadable(1, f"cannot read the source {shown}: the hashing worker failed")
        return collector.result("0" * 64)
    sha256, line_total, digests = hashed
    collector.digests = _pick_digests(digests, line_total, collector.line_numbers)
    return collector.result(sha256)


PARALLEL_MIN_BYTES = 8 << 20


def _pick_digests(digests: bytearray, line_total: int, numbers: array[int]) -> bytearray:
    """The digests of the accepted lines, given the digest of every line of the file."""
    count = len(numbers)
    if count == line_total and (count == 0 or (numbers[0] == 1 and numbers[-1] == count)):
        return digests  # every line was accepted: numbers are exactly 1..count
    view = memoryview(digests)
    size = DIGEST_SIZE
    return bytearray(b"".join([view[(n - 1) * size : n * size] for n in numbers]))


def _hash_lines(path: str, out: BinaryIO, conn: Connection) -> None:
    """In the worker: the file's SHA-256, and each line's digest written to `out`."""
    try:
        hasher = hashlib.sha256()
        total = 0
        with open(path, "rb") as stream:
            for _, lines in iter_line_blocks(stream, hasher.update):
                out.write(b"".join(map(_digest, map(_sha256, lines))))
                total += len(lines)
        out.flush()
        conn.send((hasher.hexdigest(), total))
    except BaseException:  # the parent reports the problem from its own read
        conn.send(None)
    finally:
        conn.close()


class _DigestWorker:
    """A forked process that hashes the source while the parent parses it."""

    @staticmethod
    def available() -> bool:
        return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()

    def __init__(self, path: Path) -> None:
        context = multiprocessing.get_context("fork")
        self._out = tempfile.TemporaryFile()  # noqa: SIM115  # closed by finish()
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_hash_lines, args=(os.fspath(path), self._out, send), daemon=True
        )
        self._process.start()
        send.close()

    def finish(self) -> tuple[str, int, bytearray] | None:
        """Wait for the worker: (file sha256, number of lines, digest of every line)."""
        try:
            message = self._receive.recv()
        except EOFError:
            message = None
        self._process.join()
        self._receive.close()
        try:
            if message is None:
                return None
            sha256, total = message
            digests = bytearray(int(total) * DIGEST_SIZE)
            self._out.seek(0)
            if self._out.readinto(digests) != len(digests):
                return None
            return str(sha256), int(total), digests
        finally:
            self._out.close()


def _read_jsonl(
    collector: _Collector, stream: BinaryIO, on_chunk: Callable[[bytes], None] | None
) -> None:
    loads = orjson.loads
    for first_line, lines in iter_line_blocks(stream, on_chunk):
        for start in range(0, len(lines), RECORD_BLOCK):
            block = lines[start : start + RECORD_BLOCK]
            first = first_line + start
            try:
                records: list[object] = list(map(loads, block))
            except orjson.JSONDecodeError:
                numbers, records, raws = _parse_slowly(collector, first, block)
                if collector.fatal:
                    return
                collector.accept_block(numbers, records, raws)
                continue
            collector.accept_block(range(first, first + len(block)), records, block)


def _parse_slowly(
    collector: _Collector, first: int, block: list[bytes]
) -> tuple[list[int], list[object], list[bytes]]:
    numbers: list[int] = []
    records: list[object] = []
    raws: list[bytes] = []
    for offset, raw in enumerate(block):
        number = first + offset
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            problem = json_problem(raw, error)
            if problem is None:
                continue
            if problem.fatal:
                collector.unreadable(number, f"cannot read the source: {problem.message}")
                break
            collector.record_error(number, "SP402", problem.message)
            continue
        numbers.append(number)
        records.append(record)
        raws.append(raw)
    return numbers, records, raws


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
            raws.append(item[1]["text"].encode("utf-8"))
        if len(records) >= RECORD_BLOCK:
            flush()
    flush()
