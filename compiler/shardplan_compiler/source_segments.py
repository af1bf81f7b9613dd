"""Reading a big JSONL source in two processes: segments claimed from both ends.

The file is cut into segments of whole lines. This process reads them from
the front, a forked worker (once it has hashed the file) from the back,
until they meet, so both finish together however busy the machine is; a
segment with a problem is read again here, in order, so the diagnostics are
those of one sequential read. For TXT the worker hashes the file and every
line (`SourceWorker`).
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import pickle
import tempfile
from array import array
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import BinaryIO, cast

from shardplan_compiler.source_collector import (
    DIGEST_SIZE,
    SegmentResult,
    SourceCollector,
    read_jsonl_blocks,
    sha256_digests,
)
from shardplan_compiler.two_ended import TwoEndedClaims
from shardplan_schemas.source_formats import (
    READ_CHUNK_BYTES,
    SourceFormatError,
    encoding_problem,
    iter_line_blocks,
)

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


def _count_lines(
    blocks: Iterator[tuple[int, list[bytes]]], counter: list[int]
) -> Iterator[tuple[int, list[bytes]]]:
    for block in blocks:
        counter[0] += len(block[1])
        yield block


def _read_segment(
    collector: SourceCollector, stream: BinaryIO, bounds: list[int], index: int, first_line: int
) -> int:
    """Read segment `index` into `collector`, numbering from `first_line`; returns its line count."""
    start, end = bounds[index], bounds[index + 1]
    stream.seek(start)
    counter = [0]
    blocks = iter_line_blocks(
        cast(BinaryIO, _Limited(stream, end - start)), None, first_line, at_start=index == 0
    )
    read_jsonl_blocks(collector, _count_lines(blocks, counter))
    return counter[0]


def _segment_result(
    stream: BinaryIO, display: str, bounds: list[int], index: int
) -> SegmentResult | None:
    """In the worker: one segment read on its own, or None when it has anything to report."""
    collector = SourceCollector(display, "jsonl")
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


def read_jsonl_in_two(
    collector: SourceCollector, path: Path, size: int, worker_first: bool = False
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


def finish_hashing(collector: SourceCollector, worker: SourceWorker) -> str | None:
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


class SourceWorker:
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
