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
from collections.abc import Sequence

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
