"""An old run directory given to `run --reuse`, read as untrusted input (DESIGN §7, §8).

Whoever hands over a run directory (a colleague's, a CI artifact) controls
every byte in it, so it is read defensively:

- only inside the directory: every file is opened relative to the directory's
  own descriptor, one component at a time, with `O_NOFOLLOW`, so a symlink —
  the journal, `outputs/` or a segment — is never followed, wherever it
  points; and only at paths the executor makes itself from the verified
  phase and language (a journal's `output` is compared with that path, never
  opened);
- nothing but regular files: a FIFO or a device is opened non-blocking and
  refused after `fstat`, so it cannot hang the run;
- bounded: journal lines longer than `MAX_LINE_BYTES` are skipped as they
  stream by, the journal is read up to a size cap and each unit's range is
  at most `MAX_OUTPUT_BYTES`, read with one `pread`;
- verified: a unit's records are taken only if their SHA-256 is the one its
  journal record names, so a damaged output is never copied.

Whatever is wrong costs only reuse: the unit concerned runs again, with a
warning (the first few are shown, the rest counted). A directory whose lock
is held by a live `shardplan run` is refused, since its files are changing;
while this run reads it, a shared lock keeps a new run from starting there.
"""

from __future__ import annotations

import errno
import fcntl
import gc
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic import ValidationError

from shardplan_executor.journal import (
    JOURNAL_NAME,
    LOCK_NAME,
    MANIFEST_NAME,
    RUN_FORMAT,
    JournalRecord,
    RunManifest,
)
from shardplan_executor.outputs import sha256_bytes
from shardplan_executor.reuse_index import (
    ABSENT,
    EMPTY,
    EMPTY_SHA256,
    IN_SEGMENT,
    MAX_OFFSET,
    MAX_OUTPUT_BYTES,
    OTHER_SHARD,
    OldRecords,
    PlanUnits,
)
from shardplan_executor.store import pread_all
from shardplan_executor.units import Unit

MAX_LINE_BYTES = 64 * 1024
"""A journal record is a few hundred bytes; a longer line is not one of ours."""
MAX_JOURNAL_BYTES = 1 << 30
SHOWN_WARNINGS = 5
"""Warnings shown per directory; the rest are counted in one closing line."""
READ_BLOCK = 1 << 20
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC

Emit = Callable[[str], None]


class ReuseSourceError(Exception):
    """A `--reuse` directory cannot be used at all; `exit_code` as for `run`."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def shown(text: str, limit: int = 80) -> str:
    """A string from an untrusted file, quoted and cut short for a console line."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


class Warnings:
    """A directory's problems: the first few printed, every one counted."""

    def __init__(self, label: str, emit: Emit, limit: int = SHOWN_WARNINGS) -> None:
        self.label = label
        self.count = 0
        self._emit = emit
        self._limit = limit

    def add(self, text: str) -> None:
        self.count += 1
        if self.count <= self._limit:
            self._emit(f"warning: {self.label}: {text}")

    def close(self) -> None:
        """One line for the warnings that were not shown."""
        if self.count > self._limit:
            self._emit(
                f"warning: {self.label}: {self.count - self._limit} more problem(s) not "
                f"shown ({self.count} in all); the units concerned run again"
            )
        self._limit = self.count  # shown once


def _describe(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "is a symlink (never followed)"
    if error.errno == errno.ENOENT:
        return "is missing"
    if error.errno == errno.ENOTDIR:
        return "is not a directory"
    return f"cannot be read ({error.strerror or error})"


def _is_symlink(name: str, parent: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode)
    except OSError:
        return False


class OldRun:
    """One `--reuse` directory: its finished units, and their outputs read safely."""

    def __init__(self, path: Path, emit: Emit, units: PlanUnits, option: str = "--reuse") -> None:
        """Open `path` (the directory itself may be reached through a symlink: the user named it)
        and read what its journal says of `units`, this plan's (see `reuse_index`).

        Raises `ReuseSourceError` when it is not a readable directory or a live
        run holds its lock.
        """
        self.label = str(path)
        self.warnings = Warnings(f"{option} {path}", emit)
        self.records = OldRecords(units)
        self._folders: dict[str, int | None] = {}
        self._segments: dict[str, int | None] = {}
        self._lock_fd: int | None = None
        try:
            self._fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as error:
            raise ReuseSourceError(
                f"{option} {path}: {error.strerror or error}; give an earlier run's --out "
                "directory",
                2,
            ) from None
        try:
            if self._take_lock() and self._same_format():
                self._read_journal()
        except BaseException:
            self.close()
            raise

    def _same_format(self) -> bool:
        """False (with a warning) when `run.json` says another run format (an older layout).

        A directory without a readable `run.json` is read anyway: its journal
        records are checked one by one.
        """
        try:
            fd = self._open(MANIFEST_NAME, _FILE_FLAGS)
        except OSError:
            return True
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return True
            manifest = RunManifest.model_validate_json(os.read(fd, MAX_LINE_BYTES))
        except (OSError, ValidationError, ValueError):
            return True
        finally:
            os.close(fd)
        if manifest.format == RUN_FORMAT:
            return True
        self.warnings.add(
            f"it was written by an earlier shardplan (run format {shown(manifest.format)}, one "
            "file per unit), which this one cannot read: nothing is reused from it"
        )
        return False

    def _open(self, name: str, flags: int, parent: int | None = None) -> int:
        return os.open(name, flags, dir_fd=self._fd if parent is None else parent)

    def _take_lock(self) -> bool:
        """Share the directory's lock; False (with a warning) when it cannot be checked."""
        try:
            fd = self._open(LOCK_NAME, _FILE_FLAGS)
        except FileNotFoundError:
            return True  # no run ever locked it: nothing writes there
        except OSError as error:
            self.warnings.add(f"{LOCK_NAME} {_describe(error)}: nothing is reused from it")
            return False
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            self.warnings.add(f"{LOCK_NAME} is not a regular file: nothing is reused from it")
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise ReuseSourceError(
                f"{self.warnings.label} is being written by a running `shardplan run` (its lock "
                "is held); wait for that run to end, or drop this --reuse",
                1,
            ) from None
        self._lock_fd = fd
        return True

    def _read_journal(self) -> None:
        try:
            fd = self._open(JOURNAL_NAME, _FILE_FLAGS)
        except OSError as error:
            self.warnings.add(f"{JOURNAL_NAME} {_describe(error)}: nothing to reuse")
            return
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                self.warnings.add(f"{JOURNAL_NAME} is not a regular file: nothing to reuse")
                return
            bad = 0
            add = self.records.add_line
            # Reading makes no cycle, and what it keeps lives long: the collector's passes
            # over it would only cost time.
            collecting = gc.isenabled()
            gc.disable()
            try:
                for lines in self._journal_lines(fd):
                    for line in lines:
                        if not add(line):
                            bad += 1
            finally:
                if collecting:
                    gc.enable()
                self.records.done()
            if bad:
                self.warnings.add(f"{bad} line(s) of {JOURNAL_NAME} are not journal records")
        finally:
            os.close(fd)

    def _journal_lines(self, fd: int) -> Iterator[list[bytes]]:
        """Complete lines of at most `MAX_LINE_BYTES`, a block at a time; a torn last line
        is dropped."""
        carry = b""
        skipping = False
        """In a line already longer than `MAX_LINE_BYTES` (counted), up to its newline."""
        long_lines = 0
        total = 0
        while block := os.read(fd, READ_BLOCK):
            total += len(block)
            if total > MAX_JOURNAL_BYTES:
                self.warnings.add(
                    f"{JOURNAL_NAME} is larger than {MAX_JOURNAL_BYTES} bytes; the rest is ignored"
                )
                break
            cut = block.rfind(b"\n")
            if cut < 0:
                if not skipping:
                    carry += block
                    if len(carry) > MAX_LINE_BYTES:
                        long_lines += 1
                        skipping = True
                        carry = b""
                continue
            lines = (carry + block[:cut]).split(b"\n")
            if skipping:  # the first piece ends the long line
                lines = lines[1:]
                skipping = False
            carry = block[cut + 1 :]
            if len(carry) > MAX_LINE_BYTES:
                long_lines += 1
                skipping = True
                carry = b""
            if lines and max(map(len, lines)) > MAX_LINE_BYTES:
                long_lines += sum(len(line) > MAX_LINE_BYTES for line in lines)
                lines = [line for line in lines if len(line) <= MAX_LINE_BYTES]
            yield lines
        if long_lines:
            self.warnings.add(
                f"{long_lines} line(s) of {JOURNAL_NAME} are longer than {MAX_LINE_BYTES} bytes "
                "and were skipped"
            )

    def _folder(self, parts: list[str]) -> int | None:
        """The descriptor of a folder inside the directory, each component without symlinks."""
        key = "/".join(parts)
        if key in self._folders:
            return self._folders[key]
        parent = self._fd if len(parts) == 1 else self._folder(parts[:-1])
        fd: int | None = None
        if parent is not None:
            try:
                fd = self._open(parts[-1], _DIRECTORY_FLAGS, parent)
            except OSError as error:
                if error.errno == errno.ENOTDIR and _is_symlink(parts[-1], parent):
                    error = OSError(errno.ELOOP, "a symlink")  # O_DIRECTORY said ENOTDIR first
                self.warnings.add(f"{key}/ {_describe(error)}: its outputs are not reused")
        self._folders[key] = fd
        return fd

    def _segment(self, segment: str) -> int | None:
        """A descriptor of one of the directory's segments, or None (with a warning)."""
        if segment in self._segments:
            return self._segments[segment]
        folder, _, name = segment.rpartition("/")
        fd: int | None = None
        parent = self._folder(folder.split("/"))
        if parent is not None:
            try:
                fd = self._open(name, _FILE_FLAGS, parent)
            except OSError as error:
                self.warnings.add(f"{segment} {_describe(error)}; its units run again")
            else:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    os.close(fd)
                    fd = None
                    self.warnings.add(
                        f"{segment} is not a regular file (a FIFO, device or directory); its "
                        "units run again"
                    )
        self._segments[segment] = fd
        return fd

    def finished_output(self, unit: Unit) -> bytes | None:
        """The unit's records when the journal has it finished with this shard, intact."""
        if self.records.kind(unit) in (ABSENT, OTHER_SHARD):
            return None
        return self.read_output(unit)

    def read_output(self, unit: Unit) -> bytes | None:
        """The records the journal's last record of `unit` names, if intact; None (and a
        warning) if not. Only for a unit whose record is of its shard."""
        kind = self.records.kind(unit)
        if kind == EMPTY:
            return b""
        if kind == IN_SEGMENT:
            return self._read_range(unit, *self.records.output_range(unit))
        return self._read_unusual(unit, self.records.unusual[unit.phase_index, unit.order])

    def _read_unusual(self, unit: Unit, record: JournalRecord) -> bytes | None:
        if record.output is None:
            if record.records == 0 and record.output_sha256 == EMPTY_SHA256:
                return b""  # pragma: no cover - such a record is stored compactly (EMPTY)
            self.warnings.add(f"{unit.unit_id}: its journal record names no output but records")
            return None
        if record.output != unit.segment:
            self.warnings.add(
                f"{unit.unit_id}: its journal record names the output {shown(record.output)}, "
                f"not {unit.segment}; the unit runs again"
            )
            return None
        if not 0 <= record.offset <= MAX_OFFSET or not 0 < record.length <= MAX_OUTPUT_BYTES:
            self.warnings.add(
                f"{unit.unit_id}: its journal record names an impossible range; the unit runs again"
            )
            return None
        return self._read_range(unit, record.offset, record.length, record.output_sha256)

    def _read_range(self, unit: Unit, offset: int, length: int, checksum: str) -> bytes | None:
        """`length` bytes at `offset` of the unit's segment, if their SHA-256 is `checksum`."""
        fd = self._segment(unit.segment)
        if fd is None:
            return None
        try:
            data = pread_all(fd, length, offset)
        except OSError as error:
            self.warnings.add(
                f"{unit.segment} cannot be read ({error.strerror or error}); the unit runs again"
            )
            return None
        if len(data) != length or sha256_bytes(data) != checksum:
            self.warnings.add(
                f"{unit.unit_id}: its records in {unit.segment} do not match their journal "
                "checksum (damaged); the unit runs again"
            )
            return None
        return data

    def close(self) -> None:
        """Release the descriptors and the shared lock; print the warnings not shown."""
        self.warnings.close()
        for fd in [*self._folders.values(), *self._segments.values()]:
            if fd is not None:
                os.close(fd)
        self._folders.clear()
        self._segments.clear()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
