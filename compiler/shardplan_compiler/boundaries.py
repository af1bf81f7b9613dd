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

Speed: the `H` of every line id is computed once per source, with C-level
`map`s, into an array of 8-byte integers (8 MB for a million lines) that every
phase with content boundaries shares: a phase then only compares integers
against its threshold, runs take their first line's `H` from it, and the split
of long pieces reads it too.
"""

from __future__ import annotations

import hashlib
import sys
from array import array
from collections.abc import Iterable, Sequence
from itertools import compress, islice
from operator import itemgetter, methodcaller

MAX_PIECE_FACTOR = 4
"""A shard has at most `MAX_PIECE_FACTOR * size` items."""

_DIGEST = methodcaller("digest")
_FIRST_8 = itemgetter(slice(0, 8))
_BATCH = 65536


def id_hash(item_id: str) -> int:
    """`H(id)`: the first 8 bytes, big-endian, of the SHA-256 of the id's UTF-8 bytes."""
    return int.from_bytes(hashlib.sha256(item_id.encode()).digest()[:8], "big")


def id_hashes(ids: Iterable[str]) -> array[int]:
    """`H` of every id, in order, as unsigned 64-bit integers.

    Built a batch at a time: joining a million 8-byte prefixes at once would
    first hold a list of a million bytes objects (about 50 MB).
    """
    hashes = array("Q")
    prefixes = map(_FIRST_8, map(_DIGEST, map(hashlib.sha256, map(str.encode, ids))))
    while batch := b"".join(islice(prefixes, _BATCH)):
        hashes.frombytes(batch)
    if sys.byteorder == "little":
        hashes.byteswap()  # the prefixes are big-endian
    return hashes


def cut_threshold(size: int) -> int:
    """The smallest `H` that is not a cut: `H * size < 2**64` exactly when `H < cut_threshold`."""
    if size < 1:
        raise ValueError(f"size must be at least 1, not {size}")
    return -(-(2**64) // size)


def content_cuts(ids: Sequence[str], size: int) -> list[int]:
    """Index of the first item of every shard of the items named `ids` (`[]` for none).

    Every piece between two consecutive indexes (the last up to `len(ids)`)
    has between 1 and `4 * size` items.
    """
    return content_cuts_of(id_hashes(ids), size)


def content_cuts_of(hashes: Sequence[int], size: int) -> list[int]:
    """`content_cuts` for items given by their `H` (see `id_hashes`)."""
    count = len(hashes)
    if count == 0:
        return []
    threshold = cut_threshold(size)
    cuts = [0, *compress(range(1, count), map(threshold.__gt__, islice(hashes, 1, None)))]
    longest = MAX_PIECE_FACTOR * size
    ends = [*cuts[1:], count]
    if all(end - start <= longest for start, end in zip(cuts, ends, strict=True)):
        return cuts
    bounded: list[int] = []
    for start, end in zip(cuts, ends, strict=True):
        bounded.append(start)
        if end - start > longest:
            bounded.extend(_split(hashes, start, end, longest))
    return bounded


def _split(hashes: Sequence[int], start: int, end: int, longest: int) -> list[int]:
    """The cuts inside the piece `[start, end)` after splitting it until no piece is too long.

    A piece of `length` items needs `k = ceil(length / longest)` shards. It is
    split once, before the item with the smallest `H` among those where the
    left part can still hold `k // 2` shards and the right part the rest, and
    each part again as needed. So a piece up to twice too long is split
    exactly once, and an edit that changes which id is smallest moves one
    split, not a whole cascade of them (at most 4 dirty shards per edit).
    """
    inner: list[int] = []
    pending = [(start, end)]
    while pending:
        low, high = pending.pop()
        length = high - low
        if length <= longest:
            continue
        shards = -(-length // longest)
        left = shards // 2
        first = low + max(1, length - longest * (shards - left))
        last = low + min(length - 1, longest * left)
        # min() keeps the first of equal keys: the earliest item on a tie.
        middle = min(range(first, last + 1), key=hashes.__getitem__)
        inner.append(middle)
        pending.append((middle, high))
        pending.append((low, middle))
    inner.sort()
    return inner


def content_run_starts(
    run_starts: Sequence[int], line_hashes: Sequence[int], size: int
) -> list[int]:
    """Shard starts of `scene` / `route` with content boundaries: items are runs.

    `run_starts` is the index of each run's first line and `line_hashes` the
    `H` of every line id. A run is named by its first line's id: unlike a
    scene id, a line id is unique, and it does not change when lines are
    added to the run's end.
    """
    names = array("Q", map(line_hashes.__getitem__, run_starts))
    return list(map(run_starts.__getitem__, content_cuts_of(names, size)))
