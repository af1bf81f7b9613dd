"""The run directory's append-only journal of finished units.

`journal.jsonl` holds one record per finished unit: its id, the shard's
sha256, where its records are (the segment, `offset` and `length`, see
`store`), their sha256 and how many there are (no segment, `output: null`,
for a unit that returned no records). A record is appended only after the
unit's bytes are written, so a journaled unit always has its output; a run
killed between the two merely runs that unit again. A record torn by a kill
(no final newline) is cut off when the journal is reopened.

`run.json` names the plan the directory belongs to, so another plan is refused
instead of mixing two runs' outputs.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Iterator
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from shardplan_executor.fingerprint import UnitFingerprint
from shardplan_executor.outputs import atomic_write, fsync_directory, write_all

JOURNAL_NAME = "journal.jsonl"
MANIFEST_NAME = "run.json"
LOCK_NAME = ".lock"
RUN_FORMAT = "shardplan-run/2"
"""Format 2: outputs in segments (`store`). Format 1 had one file per unit."""
READ_BYTES = 1 << 22


class JournalRecord(BaseModel):
    """One finished unit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    sha256: str
    output: str | None
    """The segment, relative to the run directory; None when there were no records."""
    offset: int
    """Where the unit's records start in the segment (0 without records)."""
    length: int
    """Their length in bytes."""
    output_sha256: str
    records: int
    fingerprint: UnitFingerprint | None = None
    """What the output depended on beyond the shard (see `fingerprint`); None in journals
    written before reuse existed, whose units cannot be reused."""


def _model_fields(value: object) -> dict[str, object]:
    """orjson's fallback for the one nested model of a record, its `fingerprint`."""
    if isinstance(value, UnitFingerprint):
        return dict(value.__dict__)
    raise TypeError(f"{type(value).__name__} is not a journal field")


class RunManifest(BaseModel):
    """What plan a run directory belongs to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str
    plan_id: str


class RunDirectoryError(Exception):
    """The run directory belongs to another plan or cannot be used."""


def claim_run_directory(run_dir: Path, plan_id: str, *, fsync: bool = True) -> bool:
    """Make `run_dir` this plan's run directory; True when it already was (a resume).

    Raises `RunDirectoryError` when it holds another plan's run.
    """
    manifest_path = run_dir / MANIFEST_NAME
    if manifest_path.exists():
        try:
            manifest = RunManifest.model_validate_json(manifest_path.read_bytes())
        except (OSError, ValidationError) as error:
            raise RunDirectoryError(
                f"{manifest_path} is not a shardplan run manifest ({type(error).__name__}); "
                "give another --out"
            ) from None
        if manifest.format != RUN_FORMAT:
            raise RunDirectoryError(
                f"{run_dir} was written by an earlier shardplan (run format "
                f"{manifest.format!r}: one file per unit); this one keeps outputs in segments "
                f"({RUN_FORMAT!r}) and cannot resume it. Give another --out, or delete {run_dir} "
                "and run again"
            )
        if manifest.plan_id != plan_id:
            raise RunDirectoryError(
                f"{run_dir} holds a run of another plan ({manifest.plan_id}); this plan is "
                f"{plan_id}. Give another --out, or delete {run_dir} to start over"
            )
        return True
    if (run_dir / JOURNAL_NAME).exists():
        raise RunDirectoryError(
            f"{run_dir} has a journal but no {MANIFEST_NAME}; it is not a run directory this "
            "executor can resume. Give another --out"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    manifest = RunManifest(format=RUN_FORMAT, plan_id=plan_id)
    atomic_write(manifest_path, manifest.model_dump_json().encode("utf-8") + b"\n", fsync=fsync)
    return False


def _lock(run_dir: Path) -> int:
    """Hold `run_dir/.lock` for this process's life: one run per directory at a time.

    The kernel drops the lock when the process dies, even by `kill -9`.
    """
    fd = os.open(run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RunDirectoryError(
            f"another `shardplan run` is using {run_dir}; wait for it to end"
        ) from None
    return fd


def _remove_temporary_files(run_dir: Path) -> None:
    """Half-written exports and seals of a killed run: remove them (a segment's torn tail is cut by
    `resume_store`)."""
    for folder in ("export", "seals"):
        for path in (run_dir / folder).glob(".*.tmp"):
            path.unlink(missing_ok=True)


class JournalEntry(NamedTuple):
    """A journal record as read back (a tuple: a million of them are read at a resume)."""

    id: str
    sha256: str
    output: str | None
    offset: int
    length: int
    output_sha256: str
    records: int


_ENTRY_FIELDS = frozenset(JournalEntry._fields)
_FINGERPRINTED_FIELDS = _ENTRY_FIELDS | {"fingerprint"}


RecordFields = tuple[str, str, str | None, int, int, str, int]
"""`(id, sha256, output, offset, length, output_sha256, records)` of a journal record."""
_FIELDS_OF = itemgetter("id", "sha256", "output", "offset", "length", "output_sha256", "records")


def record_fields(value: dict[str, object]) -> RecordFields | None:
    """A parsed journal record's seven fields when each has exactly its type (`bool` is
    not an `int` here); None for anything else, a line not of ours, whose unit then runs
    again. Resume and reuse read hundreds of thousands of records this way, without a
    model or a tuple of their own per record."""
    try:
        fields = _FIELDS_OF(value)
    except KeyError:
        return None
    unit_id, sha256, output, offset, length, checksum, records = fields
    if (
        type(unit_id) is not str
        or type(sha256) is not str
        or type(checksum) is not str
        or type(offset) is not int
        or type(length) is not int
        or type(records) is not int
        or not (output is None or type(output) is str)
    ):
        return None
    return fields  # type: ignore[no-any-return]


def _entry(value: object) -> JournalEntry | None:
    """The entry a parsed journal line holds, or None when it is not one of ours."""
    if type(value) is not dict:
        return None
    if value.keys() in (_ENTRY_FIELDS, _FINGERPRINTED_FIELDS):  # a resume needs no fingerprint
        fields = record_fields(value)
        return None if fields is None else JournalEntry(*fields)
    try:  # a record with more fields (a later version's): the model decides
        record = JournalRecord.model_validate(value)
    except ValidationError:
        return None
    fields = record_fields(record.__dict__)
    return None if fields is None else JournalEntry(*fields)


def journal_chunks(path: Path, stops: Iterable[int] = ()) -> Iterator[tuple[int, bytes]]:
    """The journal's complete lines a block at a time: `(offset of the block, its bytes)`.

    A block never spans one of `stops` (byte offsets, each at a line's
    end): `resume` reads the lines a seal covers apart from those after it.
    A torn last line (no newline) is left out.
    """
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        return
    bounds = sorted(set(stops))
    with stream:
        carry = b""
        position = 0
        """Offset of `carry` (then of the next block) in the file."""
        read = 0
        while True:
            while bounds and bounds[0] <= read:
                bounds.pop(0)
            wanted = READ_BYTES if not bounds else min(READ_BYTES, bounds[0] - read)
            block = stream.read(wanted)
            if not block:
                return
            read += len(block)
            data = carry + block if carry else block
            cut = data.rfind(b"\n") + 1
            carry = data[cut:]
            if not cut:
                continue
            yield position, data[:cut]
            position += cut


def parse_lines(data: bytes) -> list[object]:
    """Complete journal lines parsed with one `orjson.loads` of them as one JSON array.

    One call for a block costs far less than one call a line (a resume
    reads 730,000 records); a block with a line that is not JSON is parsed
    line by line, the bad lines left out.
    """
    lines = data.count(b"\n")
    try:
        values = orjson.loads(b"[" + data[:-1].replace(b"\n", b",") + b"]")
    except orjson.JSONDecodeError:
        values = None
    if isinstance(values, list) and len(values) == lines:  # not e.g. a line `1,2`
        return values
    parsed: list[object] = []
    for line in data.split(b"\n")[:-1]:
        try:
            parsed.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue
    return parsed


def journal_blocks(path: Path) -> Iterator[list[object]]:
    """The journal's complete lines, parsed a block at a time with orjson (`parse_lines`)."""
    for _, data in journal_chunks(path):
        yield parse_lines(data)


def read_journal(path: Path) -> Iterator[JournalEntry]:
    """The complete records of a journal file, in order, read a block at a time with orjson.

    Lines that are not journal records are skipped (their units simply run again).
    """
    for values in journal_blocks(path):
        for value in values:
            entry = _entry(value)
            if entry is not None:
                yield entry


def _repair(path: Path) -> None:
    """Cut off a record torn by a kill (no final newline), so the next append starts clean."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    with path.open("r+b") as handle:
        window = 1 << 16
        while True:
            begin = max(0, size - window)
            handle.seek(begin)
            tail = handle.read(size - begin)
            newline = tail.rfind(b"\n")
            if newline >= 0 or begin == 0:
                keep = begin + newline + 1
                if keep != size:
                    handle.truncate(keep)
                return
            window *= 16


class Journal:
    """Appends finished units to `journal.jsonl` (see `commit` for when it is fsynced).

    Opening it locks the run directory, removes temporary files a killed run
    left behind and cuts off a torn last record; `entries()` reads it back.
    """

    def __init__(self, run_dir: Path, *, fsync: bool = True) -> None:
        self._lock_fd = _lock(run_dir)
        _remove_temporary_files(run_dir)
        self.path = run_dir / JOURNAL_NAME
        self._fsync = fsync
        _repair(self.path)
        # Unbuffered: a failed write (a full disk) leaves nothing behind to flush at close.
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if fsync:
            fsync_directory(run_dir)

    def entries(self) -> Iterator[JournalEntry]:
        """The journal's records, streamed."""
        return read_journal(self.path)

    @property
    def records(self) -> list[JournalRecord]:
        """Every record as a model (small journals and tests; a resume streams `entries`)."""
        return [JournalRecord.model_construct(**entry._asdict()) for entry in self.entries()]

    def append(self, records: Iterable[JournalRecord]) -> None:
        """Write `records` (unbuffered: a killed process cannot lose them)."""
        data = b"".join(
            orjson.dumps(record.__dict__, default=_model_fields) + b"\n" for record in records
        )
        if data:
            write_all(self._fd, data)

    def sync(self) -> None:
        """Make every appended record durable against a power loss."""
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)
        os.close(self._lock_fd)
