"""Content-defined shard boundaries (DESIGN §8, "Stable boundaries").

With `execution.boundaries: content`, where a shard starts depends only on
the ids of the items near it, never on their positions or text, so inserting
or deleting a line moves no boundary outside its neighbourhood and a text
edit moves none at all. Items are lines (`chunk`) or runs of lines (`scene`,
`route`), each named by the id of its first line; `size` is the chunk or
batch size. The rule, which docs/plan-format.md restates with a snippet
anyone can run:

    H(id)  = first 8 bytes, big-endian, of SHA-256(id as UTF-8)
    a shard starts at item 0 and before every item i > 0 with H(id_i) * size < 2**64
    a piece longer than 4 * size items is split at the item with the smallest
    H among its items after the first (the earliest on a tie), recursively.

The cut test is a threshold on a hash of one id (as in Dolt's prolly-tree
splitter, which chunks records by key), so a cut survives any edit that does
not touch its own id; the split of long pieces bounds a shard at `4 * size`
items and only depends on the ids inside the piece.

Speed: a million ids are hashed and compared with C-level `map`s; no digest
is kept for the items (the threshold compares whole 32-byte digests, which
orders them as their first 8 bytes do except on a tie of those, where the
digest is never below the threshold), and only the rare long pieces hash
their ids a second time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from itertools import compress, islice
from operator import methodcaller

MAX_PIECE_FACTOR = 4
"""A shard has at most `MAX_PIECE_FACTOR * size` items."""

_DIGEST = methodcaller("digest")


def id_hash(item_id: str) -> int:
    """`H(id)`: the first 8 bytes, big-endian, of the SHA-256 of the id's UTF-8 bytes."""
    return int.from_bytes(hashlib.sha256(item_id.encode()).digest()[:8], "big")


def cut_threshold(size: int) -> int:
    """The smallest `H` that is not a cut: `H * size < 2**64` exactly when `H < cut_threshold`."""
    if size < 1:
        raise ValueError(f"size must be at least 1, not {size}")
    return -(-(2**64) // size)


def content_cuts(ids: Sequence[str], size: int) -> list[int]:
    """Index of the first item of every shard of `ids` (`[0, ...]`; `[]` for no items).

    Every piece between two consecutive indexes (the last up to `len(ids)`)
    has between 1 and `4 * size` items.
    """
    count = len(ids)
    if count == 0:
        return []
    threshold = cut_threshold(size)
    if threshold >= 2**64:  # size 1: every H is a cut
        return list(range(count))
    # `limit > digest` on whole digests is `H < threshold`: bytes compare
    # lexicographically, and a digest whose first 8 bytes equal `limit` is the
    # longer string, so greater, as `H == threshold` is not a cut.
    limit = threshold.to_bytes(8, "big")
    below = map(
        limit.__gt__,
        map(_DIGEST, map(hashlib.sha256, map(str.encode, islice(ids, 1, None)))),
    )
    cuts = [0, *compress(range(1, count), below)]
    longest = MAX_PIECE_FACTOR * size
    ends = [*cuts[1:], count]
    if all(end - start <= longest for start, end in zip(cuts, ends, strict=True)):
        return cuts
    bounded: list[int] = []
    for start, end in zip(cuts, ends, strict=True):
        bounded.append(start)
        if end - start > longest:
            bounded.extend(_split(ids, start, end, longest))
    return bounded


def _split(ids: Sequence[str], start: int, end: int, longest: int) -> list[int]:
    """The cuts inside the piece `[start, end)` after splitting it until no piece is too long."""
    hashes = [id_hash(item_id) for item_id in ids[start:end]]
    inner: list[int] = []
    pending = [(0, end - start)]  # pieces as offsets into `hashes`, left to right
    while pending:
        low, high = pending.pop()
        if high - low <= longest:
            continue
        # min() keeps the first of equal keys: the earliest item on a tie.
        middle = min(range(low + 1, high), key=hashes.__getitem__)
        inner.append(start + middle)
        pending.append((middle, high))
        pending.append((low, middle))
    inner.sort()
    return inner


def content_chunk_starts(line_ids: Sequence[str], size: int) -> list[int]:
    """Shard starts of the `chunk` strategy with content boundaries: items are lines."""
    return content_cuts(line_ids, size)


def content_run_starts(run_starts: Sequence[int], line_ids: Sequence[str], size: int) -> list[int]:
    """Shard starts of `scene` / `route` with content boundaries: items are runs.

    `run_starts` is the index of each run's first line. A run is named by
    the id of that line: unlike a scene id, a line id is unique, and it does
    not change when lines are added to the run's end.
    """
    names = list(map(line_ids.__getitem__, run_starts))
    return list(map(run_starts.__getitem__, content_cuts(names, size)))
