"""Shard fingerprints: what decides a shard's output, in one SHA-256 (DESIGN §5).

A shard's output depends on its lines, its phase, the phase's agents and how
the phase is sharded (strategy and sizes); it does not depend on the cap,
which only decides how many shards run at once, nor on where the shard sits
in the file. So:

    header  = canonical JSON of {"agents": [...], "chunk_size": int|null,
              "phase": str, "route_batch_size": int|null,
              "scene_batch_size": int|null, "strategy": str}
    sha256  = first 128 bits of SHA-256( header + "\\n" + digest(line_1) + ... + digest(line_n) )

with `digest(line)` the 32-byte SHA-256 of the line as written (see
`shardplan_compiler.sources`). Editing one line changes the fingerprint of
exactly the shards holding it; inserting lines elsewhere changes nothing.
docs/plan-format.md shows how to recompute it with the standard library.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import tempfile
from collections import deque
from collections.abc import Sequence
from itertools import repeat
from multiprocessing.connection import Connection
from operator import itemgetter, mul
from typing import BinaryIO

from shardplan_compiler.sources import DIGEST_SIZE
from shardplan_compiler.two_ended import TwoEndedClaims
from shardplan_schemas.canonical import canonical_json


def fingerprint_header(
    phase: str,
    agents: Sequence[str],
    strategy: str,
    chunk_size: int | None,
    scene_batch_size: int | None,
    route_batch_size: int | None,
) -> bytes:
    """The bytes every fingerprint of a phase starts with."""
    header = canonical_json(
        {
            "phase": phase,
            "agents": list(agents),
            "strategy": strategy,
            "chunk_size": chunk_size,
            "scene_batch_size": scene_batch_size,
            "route_batch_size": route_batch_size,
        }
    )
    return header + b"\n"


def shard_fingerprint(header: bytes, digests: bytes | bytearray, start: int, end: int) -> str:
    """The first 128 bits, in hex, of the SHA-256 of the header and the digests of `[start, end)`.

    128 bits keep accidental collisions out of reach (a birthday bound of
    2^64 shards) and save 32 bytes on each of a plan's shard lines.
    """
    hasher = hashlib.sha256(header)
    hasher.update(memoryview(digests)[start * DIGEST_SIZE : end * DIGEST_SIZE])
    return hasher.digest()[:16].hex()


_FIRST_16 = itemgetter(slice(None, 16))


def shard_digests(
    header: bytes, digests: bytes | bytearray, starts: Sequence[int], ends: Sequence[int]
) -> list[bytes]:
    """The 16-byte fingerprint of every shard `[starts[i], ends[i])`, without a Python call per shard.

    A plan at rentl's defaults has over 400,000 shards, and a Python-level
    call per shard (with its memoryview, slice, hasher and hex) cost more
    than half of writing the plan. Here each step is a C-level `map`: the
    header is hashed once and its state copied per shard, the digest slices
    come from one memoryview, and the same `itemgetter` truncates them all.
    """
    base = hashlib.sha256(header)
    kind = type(base)
    view = memoryview(digests)
    size = repeat(DIGEST_SIZE)
    hashers = list(map(kind.copy, repeat(base, len(starts))))
    slices = map(slice, map(mul, starts, size), map(mul, ends, size))
    deque(map(kind.update, hashers, map(view.__getitem__, slices)), maxlen=0)
    return list(map(_FIRST_16, map(kind.digest, hashers)))


def shard_fingerprints(
    header: bytes, digests: bytes | bytearray, starts: Sequence[int], ends: Sequence[int]
) -> list[str]:
    """`shard_fingerprint` of every shard `[starts[i], ends[i])` (see `shard_digests`), in hex."""
    return list(map(bytes.hex, shard_digests(header, digests, starts, ends)))


FingerprintJob = tuple[bytes, "bytes | bytearray", Sequence[int], Sequence[int]]
"""What a batch of fingerprints needs: `(header, digests, starts, ends)`."""


class SharedFingerprints:
    """A plan's fingerprints, batch by batch, computed by the parent and a forked child together.

    At rentl's defaults a million-line script has 430,000 shards, and their
    fingerprints were most of the time spent writing the plan after reading
    the source. The batches are numbered in the order the writer needs them;
    the parent computes them from the front as it writes, the child from the
    back (`TwoEndedClaims`), and where they meet the parent takes the
    child's: 16 bytes a shard from a temporary file, announced on a pipe.
    The child only reads the digests and the shard starts (inherited by
    `fork`, so few pages are copied: it never touches the line ids, whose
    reference counts would copy the pages they sit on). Whatever goes wrong
    in the child, the parent computes what is missing itself: the plan's
    bytes never depend on it.
    """

    def __init__(self, jobs: Sequence[FingerprintJob]) -> None:
        context = multiprocessing.get_context("fork")
        self._jobs = list(jobs)
        self._claims = TwoEndedClaims(context, len(self._jobs))
        self._mine: set[int] = set()
        self._theirs: dict[int, tuple[int, int]] = {}
        self._failed = False
        self._file: BinaryIO = tempfile.TemporaryFile()  # noqa: SIM115  # closed by close()
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_fingerprint_child,
            args=(self._jobs, self._claims, self._file, send),
            daemon=True,
        )
        self._process.start()
        send.close()

    def get(self, job: int) -> list[str]:
        """The fingerprints (hex) of batch `job`; batches are asked for in order, maybe twice."""
        if job in self._mine or (job not in self._theirs and self._claims.front() == job):
            self._mine.add(job)
            return shard_fingerprints(*self._jobs[job])
        while job not in self._theirs and not self._failed:
            try:
                message = self._receive.recv()
            except (EOFError, OSError):
                message = None
            if message is None:
                self._failed = True
            else:
                done, offset, length = message
                self._theirs[int(done)] = (int(offset), int(length))
        if job not in self._theirs:  # the child failed: compute it here
            self._mine.add(job)
            return shard_fingerprints(*self._jobs[job])
        offset, length = self._theirs[job]
        self._file.seek(offset)
        text = self._file.read(length).hex()
        width = 2 * FINGERPRINT_BYTES
        return list(
            map(
                text.__getitem__,
                map(slice, range(0, len(text), width), range(width, len(text) + width, width)),
            )
        )

    def close(self) -> None:
        """Stop the child if it still runs and drop its file."""
        self._claims.stop()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._receive.close()
        self._file.close()


FINGERPRINT_BYTES = 16


def _fingerprint_child(
    jobs: list[FingerprintJob], claims: TwoEndedClaims, out: BinaryIO, conn: Connection
) -> None:
    try:
        while (job := claims.back()) is not None:
            data = b"".join(shard_digests(*jobs[job]))
            offset = out.tell()
            out.write(data)
            out.flush()
            conn.send((job, offset, len(data)))
    except BaseException:  # the parent computes what is missing itself
        conn.send(None)
    finally:
        conn.close()
