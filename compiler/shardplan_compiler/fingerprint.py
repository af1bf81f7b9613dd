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
from collections import deque
from collections.abc import Sequence
from itertools import repeat
from operator import itemgetter, mul

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


def shard_fingerprints(
    header: bytes, digests: bytes | bytearray, starts: Sequence[int], ends: Sequence[int]
) -> list[str]:
    """`shard_fingerprint` of every shard `[starts[i], ends[i])`, without a Python call per shard.

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
    return list(map(bytes.hex, map(_FIRST_16, map(kind.digest, hashers))))
