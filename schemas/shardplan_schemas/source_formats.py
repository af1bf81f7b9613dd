"""Reading source files (DESIGN §3), shared by the compiler and the executor.

The compiler shards the lines it reads and the executor hands the lines it
reads to handlers; if the two read a file differently, a plan would describe
lines the executor never sees. So the rules of each format live here once:
how a file is split into lines and numbered, what a blank line is, how a CSV
header maps to fields, which encodings are refused, and how a record is
checked against `SourceLine`.

The compiler's fast reader (`shardplan_compiler.sources`) uses the low-level
pieces (`iter_line_blocks`, `iter_csv_records`, `iter_txt_records`,
`parse_json_record`, `describe_invalid_record`) and collects every problem as
a diagnostic; `read_source_lines` builds `SourceLine` objects and stops at the
first problem, which is what the executor wants.

JSON is parsed with orjson: the plain `json` module alone costs more than the
compiler's whole time budget on a million-line script (see
`docs/plan-format.md`), and both sides must use the same parser so that they
accept exactly the same files.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import orjson
from pydantic import ValidationError

from shardplan_schemas.primitives import ID_PATTERN, SourceFormat
from shardplan_schemas.source import SourceLine

SOURCE_EXTENSIONS: dict[str, SourceFormat] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".txt": "txt",
}
SOURCE_FIELDS: tuple[str, ...] = ("line_id", "scene_id", "route_id", "speaker", "text", "metadata")
CSV_COLUMNS: tuple[str, ...] = ("line_id", "scene_id", "route_id", "speaker", "text", "metadata")
"""The CSV columns that are `SourceLine` fields; any other column goes to `metadata.extra`."""
CSV_EXTRA_KEY = "extra"
"""Where other CSV columns land in `metadata`: the place rentl puts them, so both read a line alike."""
CSV_REQUIRED_COLUMNS: tuple[str, ...] = ("line_id", "text")
READ_CHUNK_BYTES = 1 << 20
MAX_REPORTED_BYTES = 16

ProblemKind = Literal["unreadable", "malformed", "invalid", "columns"]


class SourceFormatError(Exception):
    """A source file that cannot be read as the lines it claims to hold."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message if line is None else f"line {line}: {message}")
        self.message = message
        self.line = line


@dataclass(frozen=True, slots=True)
class RecordProblem:
    """A problem at one place of a source file.

    `unreadable` (encoding, binary) and `columns` (a CSV header) are fatal:
    nothing after them can be trusted, so readers stop there. `malformed` (not
    a record at all) and `invalid` (a record that is not a `SourceLine`) are
    per record: the compiler reports them and goes on.
    """

    line: int
    kind: ProblemKind
    message: str

    @property
    def fatal(self) -> bool:
        return self.kind in ("unreadable", "columns")


def format_from_extension(path: Path | str) -> SourceFormat | None:
    """The format a file's extension implies (`.jsonl`/`.ndjson`, `.csv`, `.txt`), or None."""
    return SOURCE_EXTENSIONS.get(Path(path).suffix.lower())


def encoding_problem(head: bytes) -> str | None:
    """Why a file starting with `head` is not UTF-8 text, or None when it may be.

    Checked once on the first chunk so that a binary or UTF-16 file gets one
    clear message instead of a wall of per-line parse errors.
    """
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "the file is UTF-32 encoded; save it as UTF-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "the file is UTF-16 encoded; save it as UTF-8"
    nul = head.find(b"\x00")
    if nul != -1:
        return (
            f"the file looks binary (a NUL byte at offset {nul}); "
            "a source must be UTF-8 text (JSONL, CSV or TXT)"
        )
    return None


def utf8_problem(raw: bytes) -> str | None:
    """A message naming the first byte of `raw` that is not UTF-8, or None."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        bad = raw[error.start : error.start + 1].hex()
        return (
            f"the file is not UTF-8 text (byte 0x{bad} at column {error.start + 1} of this line); "
            "save it as UTF-8"
        )
    return None


def iter_line_blocks(
    stream: BinaryIO,
    on_chunk: Callable[[bytes], None] | None = None,
    first_line: int = 1,
    at_start: bool = True,
) -> Iterator[tuple[int, list[bytes]]]:
    """Yield `(number of the first line, lines)` blocks of a byte stream.

    Lines are split on `\\n` and numbered from 1; a `\\r` before the `\\n` (or
    at the end of the file) belongs to the line break, not to the line. A
    UTF-8 byte order mark at the start is dropped. Reading 1 MiB at a time
    keeps memory flat and lets callers work on whole blocks. `on_chunk` sees
    every byte of the file exactly once (the compiler hashes the file with it).
    Raises `SourceFormatError` when the start of the file is binary or UTF-16/32.
    A stream positioned at the start of a later line reads with `first_line`
    set to its number and `at_start=False` (no start-of-file checks).
    """
    carry = b""
    next_line = first_line
    first = at_start
    while True:
        chunk = stream.read(READ_CHUNK_BYTES)
        if on_chunk is not None and chunk:
            on_chunk(chunk)
        if first:
            first = False
            problem = encoding_problem(chunk)
            if problem is not None:
                raise SourceFormatError(problem)
            if chunk.startswith(codecs.BOM_UTF8):
                chunk = chunk[len(codecs.BOM_UTF8) :]
        if not chunk:
            if carry:
                yield next_line, [carry[:-1] if carry.endswith(b"\r") else carry]
            return
        data = carry + chunk if carry else chunk
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        lines = data.split(b"\n")
        carry = lines.pop()
        if lines:
            yield next_line, lines
            next_line += len(lines)


def is_blank(raw: bytes) -> bool:
    """A line holding nothing but whitespace; JSONL and TXT skip these."""
    return not raw.strip()


def parse_json_record(raw: bytes) -> object:
    """Parse one JSONL line. Raises `ValueError` (orjson's `JSONDecodeError`)."""
    return orjson.loads(raw)


def json_problem(raw: bytes, error: ValueError) -> RecordProblem | None:
    """Classify a JSONL line that did not parse: None for a blank line, else the problem."""
    if is_blank(raw):
        return None
    encoding = utf8_problem(raw)
    if encoding is not None:
        return RecordProblem(0, "unreadable", encoding)
    return RecordProblem(0, "malformed", f"not a JSON object: {error}")


def iter_jsonl_records(
    stream: BinaryIO, on_chunk: Callable[[bytes], None] | None = None
) -> Iterator[tuple[int, object] | RecordProblem]:
    """Yield `(line number, parsed JSON)` per non-blank JSONL line, or the line's problem."""
    for first_line, lines in iter_line_blocks(stream, on_chunk):
        for offset, raw in enumerate(lines):
            line = first_line + offset
            try:
                yield line, orjson.loads(raw)
            except orjson.JSONDecodeError as error:
                problem = json_problem(raw, error)
                if problem is not None:
                    yield RecordProblem(line, problem.kind, problem.message)


def iter_txt_records(
    stream: BinaryIO, on_chunk: Callable[[bytes], None] | None = None
) -> Iterator[tuple[int, dict[str, str]] | RecordProblem]:
    """Yield `(line number, {"line_id": "line_<n>", "text": ...})` per non-blank line.

    The text is the line without its line break (`\\n` or `\\r\\n`); other
    whitespace is kept, since it may matter to a translator.
    """
    for first_line, lines in iter_line_blocks(stream, on_chunk):
        for offset, raw in enumerate(lines):
            if is_blank(raw):
                continue
            line = first_line + offset
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield RecordProblem(line, "unreadable", utf8_problem(raw) or "not UTF-8")
                return
            yield line, {"line_id": f"line_{line}", "text": text}


def csv_header_problem(header: list[str]) -> str | None:
    """Why a CSV header cannot be read as source lines, or None.

    Columns other than `CSV_COLUMNS` are allowed (rentl's CSVs carry them):
    their cells are kept under `metadata.extra`.
    """
    missing = [column for column in CSV_REQUIRED_COLUMNS if column not in header]
    duplicate = sorted({column for column in header if header.count(column) > 1})
    unnamed = [number for number, column in enumerate(header, start=1) if not column]
    problems: list[str] = []
    if missing:
        problems.append("missing required column(s) " + ", ".join(f"`{c}`" for c in missing))
    if duplicate:
        problems.append("duplicate column(s) " + ", ".join(f"`{c}`" for c in duplicate))
    if unnamed:
        problems.append("unnamed column(s) at position " + ", ".join(map(str, unnamed)))
    if not problems:
        return None
    return "the CSV header " + "; ".join(problems)


def csv_record(header: list[str], row: list[str]) -> dict[str, object] | str:
    """One CSV row as a raw record, or why it is not one.

    An empty cell means absent. The `metadata` cell holds a JSON object; the
    cells of columns that are not `SourceLine` fields are added to it under
    `extra` (as rentl reads them), as strings.
    """
    record: dict[str, object] = {}
    extra: dict[str, object] = {}
    for column, cell in zip(header, row, strict=True):
        if not cell:
            continue
        if column == "metadata":
            try:
                metadata = orjson.loads(cell)
            except orjson.JSONDecodeError as error:
                return f"the `metadata` cell is not JSON: {error}"
            if not isinstance(metadata, dict):
                return f"the `metadata` cell must be a JSON object, not {_json_kind(metadata)}"
            record["metadata"] = metadata
        elif column in CSV_COLUMNS:
            record[column] = cell
        else:
            extra[column] = cell
    if extra:
        metadata = record.setdefault("metadata", {})
        assert isinstance(metadata, dict)
        earlier = metadata.get(CSV_EXTRA_KEY, {})
        if not isinstance(earlier, dict):
            return (
                f"`metadata.{CSV_EXTRA_KEY}` must be a JSON object to take the other "
                f"columns ({', '.join(extra)}), not {_json_kind(earlier)}"
            )
        metadata[CSV_EXTRA_KEY] = {**earlier, **extra}
    return record


def iter_csv_records(
    stream: BinaryIO, on_chunk: Callable[[bytes], None] | None = None
) -> Iterator[tuple[int, dict[str, object]] | RecordProblem]:
    """Yield `(line where the record starts, record)` per CSV record, or a problem (`csv_record`).

    RFC 4180 through the `csv` module in strict mode: quoted fields may span
    lines, so a record is numbered by the line it starts on. An empty cell
    means the field is absent. A UTF-8 byte order mark is dropped. Rows with
    a different number of cells than the header are malformed; empty rows are
    skipped.
    """
    text = io.TextIOWrapper(
        io.BufferedReader(_HashingReader(stream, on_chunk)),
        encoding="utf-8-sig",
        errors="strict",
        newline="",
    )
    reader = csv.reader(text, strict=True)
    last_line = 0
    try:
        header: list[str] | None = None
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                start = last_line + 1
                last_line = reader.line_num
                if header is None:
                    yield RecordProblem(
                        start, "columns", f"the CSV header is not readable: {error}"
                    )
                    return
                yield RecordProblem(start, "malformed", f"not a well-formed CSV record: {error}")
                continue
            start = last_line + 1
            last_line = reader.line_num
            if header is None:
                header = [cell.strip() for cell in row]
                problem = csv_header_problem(header)
                if problem is not None:
                    yield RecordProblem(start, "columns", problem)
                    return
                continue
            if not row:
                continue
            if len(row) != len(header):
                yield RecordProblem(
                    start,
                    "malformed",
                    f"the record has {len(row)} cell(s) but the header has {len(header)} "
                    "(a ragged row; quote cells that contain commas)",
                )
                continue
            record = csv_record(header, row)
            if isinstance(record, str):
                yield RecordProblem(start, "malformed", record)
                continue
            yield start, record
        if header is None:
            yield RecordProblem(
                1, "columns", "the CSV file is empty: it needs a header with `line_id` and `text`"
            )
    except UnicodeDecodeError as error:
        yield RecordProblem(
            last_line + 1,
            "unreadable",
            f"the file is not UTF-8 text (byte 0x{error.object[error.start : error.start + 1].hex()}); "
            "save it as UTF-8",
        )
    except SourceFormatError as error:
        yield RecordProblem(1, "unreadable", error.message)


class _HashingReader(io.RawIOBase):
    """A raw stream that shows each chunk to `on_chunk` and refuses binary/UTF-16 starts."""

    def __init__(self, stream: BinaryIO, on_chunk: Callable[[bytes], None] | None) -> None:
        super().__init__()
        self._stream = stream
        self._on_chunk = on_chunk
        self._first = True

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._stream.read(len(buffer))
        if self._first:
            self._first = False
            problem = encoding_problem(data)
            if problem is not None:
                raise SourceFormatError(problem)
        if self._on_chunk is not None and data:
            self._on_chunk(data)
        buffer[: len(data)] = data
        return len(data)


def iter_source_records(
    stream: BinaryIO, fmt: SourceFormat, on_chunk: Callable[[bytes], None] | None = None
) -> Iterator[tuple[int, object] | RecordProblem]:
    """Records of any format: `(line number, raw record)` or a `RecordProblem`.

    A raw record still has to be checked against `SourceLine`.
    """
    if fmt == "jsonl":
        return iter_jsonl_records(stream, on_chunk)
    if fmt == "csv":
        return iter_csv_records(stream, on_chunk)
    return iter_txt_records(stream, on_chunk)


def describe_invalid_record(record: object) -> str | None:
    """None when `record` is a valid `SourceLine`, else a one-line message naming the fields."""
    try:
        SourceLine.model_validate(record)
    except ValidationError as error:
        return "; ".join(_describe_error(item) for item in error.errors(include_url=False))
    return None


def _describe_error(item: object) -> str:
    if not isinstance(item, dict):  # pragma: no cover - pydantic always gives dicts
        return str(item)
    location = ".".join(str(part) for part in item.get("loc", ()))
    kind = item.get("type", "")
    value = item.get("input")
    if kind == "missing":
        return f"missing required field `{location}`"
    if kind == "extra_forbidden":
        return f"unknown field `{location}` (allowed: {', '.join(SOURCE_FIELDS)})"
    if kind == "model_type":
        return f"a record must be a JSON object, not {_json_kind(value)}"
    if kind == "string_pattern_mismatch":
        return (
            f"`{location}` {_short(value)} does not match {ID_PATTERN} "
            "(lowercase letters, then `_<digits>` groups, e.g. `scene_001_0042`)"
        )
    if kind == "string_too_short":
        return f"`{location}` is empty"
    if kind == "string_too_long":
        return f"`{location}` is too long ({item.get('msg', '')})"
    if kind in ("string_type", "dict_type", "int_type", "bool_type"):
        return f"`{location}` must be {_expected(kind)}, not {_json_kind(value)}"
    return f"`{location}`: {item.get('msg', kind)}"


def _expected(kind: object) -> str:
    return {
        "string_type": "a string",
        "dict_type": "an object",
        "int_type": "an integer",
        "bool_type": "a boolean",
    }.get(str(kind), str(kind))


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_source_lines(path: Path, fmt: SourceFormat) -> list[SourceLine]:
    """Every line of a source file as `SourceLine`s, in order.

    Raises `SourceFormatError` (with the line number where there is one) on
    the first problem: an unreadable file, a malformed or invalid record, or a
    duplicate `line_id`. Reads exactly the lines the compiler shards.
    """
    lines: list[SourceLine] = []
    first_seen: dict[str, int] = {}
    try:
        with path.open("rb") as stream:
            for item in iter_source_records(stream, fmt):
                if isinstance(item, RecordProblem):
                    raise SourceFormatError(item.message, item.line)
                number, record = item
                problem = describe_invalid_record(record)
                if problem is not None:
                    raise SourceFormatError(problem, number)
                line = SourceLine.model_validate(record)
                earlier = first_seen.setdefault(line.line_id, number)
                if earlier != number:
                    raise SourceFormatError(
                        f"duplicate line_id {line.line_id!r} (first at line {earlier})", number
                    )
                lines.append(line)
    except OSError as error:
        raise SourceFormatError(f"cannot read {path}: {error.strerror or error}") from error
    return lines
