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
import sys
import tempfile
from collections import deque
from collections.abc import Sequence
from itertools import repeat
from multiprocessing.connection import Connection
from operator import itemgetter, mul
from typing import BinaryIO

from shardplan_compiler.sources import DIGEST_SIZE
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
"""What one phase's fingerprints need: `(header, digests, starts, ends)`."""


class ForkedFingerprints:
    """The fingerprints of some phases, computed in a forked child while the parent writes the plan.

    At rentl's defaults a million-line script has 430,000 shards, and their
    fingerprints are most of the time spent writing the plan after reading
    the source; on two cores a child computes those of the later phases
    while the parent fingerprints and renders the first ones. The child
    only reads the digests and the shard starts (inherited by `fork`, so
    few pages are copied: it never touches the line ids, whose reference
    counts would copy the pages they sit on) and writes 16 bytes a shard to
    a temporary file per phase, announcing each phase on a pipe when it is
    done. Whatever goes wrong in the child, `result` returns None and the
    caller computes the fingerprints itself: the plan's bytes never depend
    on it.
    """

    def __init__(self, jobs: Sequence[FingerprintJob]) -> None:
        context = multiprocessing.get_context("fork")
        # Closed by close().
        self._files: list[BinaryIO] = [tempfile.TemporaryFile() for _ in jobs]  # noqa: SIM115
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_fingerprint_child, args=(list(jobs), self._files, send), daemon=True
        )
        self._process.start()
        send.close()
        self._done: set[int] = set()
        self._failed = False

    @staticmethod
    def available() -> bool:
        return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()

    def result(self, job: int) -> list[str] | None:
        """The fingerprints (hex) of job `job`, waiting for the child if need be; None if it failed."""
        while job not in self._done and not self._failed:
            try:
                message = self._receive.recv()
            except (EOFError, OSError):
                message = None
            if message is None:
                self._failed = True
            else:
                self._done.add(int(message))
        if self._failed:
            return None
        handle = self._files[job]
        handle.seek(0)
        text = handle.read().hex()
        width = 2 * FINGERPRINT_BYTES
        return list(
            map(
                text.__getitem__,
                map(slice, range(0, len(text), width), range(width, len(text) + width, width)),
            )
        )

    def close(self) -> None:
        """Stop the child if it still runs and drop its files."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._receive.close()
        for handle in self._files:
            handle.close()


FINGERPRINT_BYTES = 16


def _fingerprint_child(jobs: list[FingerprintJob], files: list[BinaryIO], conn: Connection) -> None:
    try:
        for index, (header, digests, starts, ends) in enumerate(jobs):
            files[index].write(b"".join(shard_digests(header, digests, starts, ends)))
            files[index].flush()
            conn.send(index)
    except BaseException:  # the parent computes what is missing itself
        conn.send(None)
    finally:
        conn.close()
