"""The compiler's source reader: one streaming pass, every problem a diagnostic.

Compiling a million-line script must cost at most three times parsing it, so
this reader never builds a `SourceLine` per line. It works on blocks of lines
with C-level `map`s: parse, check the shape of every record by hand (the same
rules `SourceLine` enforces, see `source_collector`), and keep only what sharding
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

This module is the entry point (`read_source`); the checks of blocks and
what is kept of them are in `source_collector`, the reading of a big JSONL
file in two processes in `source_segments`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from shardplan_compiler.source_collector import (
    DIGEST_SIZE,
    SourceCollector,
    SourceReadResult,
    SourceTable,
    read_jsonl,
    read_records,
)
from shardplan_compiler.source_segments import (
    PARALLEL_MIN_BYTES,
    SourceWorker,
    finish_hashing,
    read_jsonl_in_two,
)
from shardplan_compiler.two_ended import can_fork
from shardplan_schemas.primitives import SourceFormat
from shardplan_schemas.source_formats import SourceFormatError

__all__ = ["DIGEST_SIZE", "SourceReadResult", "SourceTable", "read_source"]


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
    together however busy the machine is (see `read_jsonl_in_two`). For TXT
    the worker hashes the file and every line. The result is the same as
    reading alone, which the tests check. `parallel` forces that on or off
    (default: on for files of `PARALLEL_MIN_BYTES` or more, where it pays for
    the fork); `worker_first` (for the tests) makes this process read only
    the first JSONL segment itself before waiting for the worker, which then
    reads all the others.
    """
    shown = display if display is not None else path.as_posix()
    collector = SourceCollector(shown, fmt)
    hasher = hashlib.sha256()
    if path.exists() and not path.is_dir() and not path.is_file():
        # A FIFO would block the read forever, a device may never end.
        message = "it is not a regular file (a FIFO, socket or device)"
        collector.unreadable(1, f"cannot read the source {shown}: {message}")
        return collector.result(hasher.hexdigest())
    worker: SourceWorker | None = None
    sha256: str | None = None
    try:
        before = os.stat(path)
        forked = (
            fmt != "csv"
            and can_fork()
            and (parallel or (parallel is None and before.st_size >= PARALLEL_MIN_BYTES))
        )
        if forked and fmt == "jsonl":
            sha256 = read_jsonl_in_two(collector, path, before.st_size, worker_first)
        else:
            if forked:
                worker = SourceWorker(path)
                collector.defer_raw_digests = True
            on_chunk = None if worker is not None else hasher.update
            with path.open("rb") as stream:
                if fmt == "jsonl":
                    read_jsonl(collector, stream, on_chunk)
                else:
                    read_records(collector, stream, fmt, on_chunk)
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
        sha256 = finish_hashing(collector, worker)
    if sha256 is None:
        if not collector.fatal:
            collector.unreadable(1, f"cannot read the source {shown}: the reading worker failed")
        return collector.result("0" * 64)
    return collector.result(sha256)
