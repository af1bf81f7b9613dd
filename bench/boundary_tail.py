"""`python -m bench.boundary_tail [SIZE] [TRIALS]`: how often one edit dirties more than 4 shards.

DESIGN §8 asks that a one-line insert or delete dirty at most 4 shards of a
phase with content boundaries. Over seeded random scripts (the property
tests, and 27,000 edits by hand) that held in all but one edit: too rare to
measure by placing edits at random. More than 4 needs a piece between two
threshold cuts that is over 8 x size items (it then holds 3 or more shards,
and an edit can move several of its splits); at size 10, about 0.3 % of
lines sit in such pieces. So this places edits only inside long pieces, and
weighs the rate for each length by how often an edit lands there.

A line is a cut with probability `p = 1/size` (the threshold rule), so piece
lengths are geometric and an edit falls in a piece of `L` items with
probability `L p^2 (1-p)^(L-1)`. For `k` = 3, 4, 5 (pieces of `(k-1)B+1`
to `kB` items, `B = 4 x size`), it draws lengths from that law within the
range, builds the piece between two ordinary ones, inserts a random line or
deletes one of the piece's (but its first), and counts dirty shards as `diff`
does (changed + added + removed, paired by shared lines). Deleting a
threshold cut joins two pieces, which can make a long one of two short
ones: that case is drawn apart. The total is the sum over the cases of
(share of edits) x (rate of more than 4 among them).
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass

from shardplan_compiler.boundaries import MAX_PIECE_FACTOR, content_cuts_of, cut_threshold

Item = tuple[int, int]
"""(serial, H): a line, by identity, and the hash its cut depends on."""


@dataclass
class Bucket:
    k: int
    share: float
    """Share of all one-line edits that fall in pieces of this bucket."""
    trials: int = 0
    over_four: int = 0
    worst: int = 0

    def add(self, count: int) -> None:
        self.trials += 1
        self.over_four += count > 4
        self.worst = max(self.worst, count)


def _shards(items: list[Item], size: int) -> list[tuple[int, ...]]:
    cuts = content_cuts_of([h for _, h in items], size)
    ends = [*cuts[1:], len(items)]
    return [tuple(serial for serial, _ in items[a:b]) for a, b in zip(cuts, ends, strict=True)]


def dirty(old: list[tuple[int, ...]], new: list[tuple[int, ...]]) -> int:
    """Changed + added + removed shards, paired by shared lines as `diff` pairs them."""
    same = set(old) & set(new)
    candidates = [set(shard) for shard in old if shard not in same]
    paired: set[int] = set()
    count = 0
    for shard in new:
        if shard in same:
            continue
        count += 1
        mine = set(shard)
        shared = [len(mine & other) for other in candidates]
        if shared and max(shared) > 0:
            paired.add(shared.index(max(shared)))
    return count + len(candidates) - len(paired)


class _Lines:
    def __init__(self, rng: random.Random, size: int) -> None:
        self.rng = rng
        self.threshold = cut_threshold(size)
        self.serial = 0

    def line(self, cut: bool | None = None) -> Item:
        """A new line: a threshold cut, not one, or either as chance has it (None)."""
        self.serial += 1
        rng = self.rng
        if cut is None:
            return self.serial, rng.getrandbits(64)
        if cut:
            return self.serial, rng.randrange(self.threshold)
        return self.serial, rng.randrange(self.threshold, 2**64)

    def piece(self, length: int) -> list[Item]:
        return [self.line(True), *(self.line(False) for _ in range(length - 1))]


def measure(size: int, trials: int, seed: int = 9) -> list[Bucket]:
    rng = random.Random(seed)
    lines = _Lines(rng, size)
    p = lines.threshold / 2**64
    longest = MAX_PIECE_FACTOR * size

    def landing(length: int) -> float:
        return length * p * p * (1 - p) ** (length - 1)

    buckets: list[Bucket] = []
    for k in (3, 4, 5):
        lengths = range((k - 1) * longest + 1, k * longest + 1)
        weights = [landing(length) for length in lengths]
        bucket = Bucket(k, sum(weights))
        for length in rng.choices(lengths, weights, k=trials):
            before = lines.piece(1 + int(rng.expovariate(p)))
            after = lines.piece(1 + int(rng.expovariate(p)))
            items = [*before, *lines.piece(length), *after, lines.line(True)]
            edited = list(items)
            if rng.random() < 0.5:
                edited.insert(len(before) + rng.randrange(length), lines.line())
            else:  # not the piece's first line: deleting a cut is the merge case below
                del edited[len(before) + 1 + rng.randrange(length - 1)]
            bucket.add(dirty(_shards(items, size), _shards(edited, size)))
        buckets.append(bucket)
    buckets.append(_merges(lines, size, trials))
    return buckets


def _merges(lines: _Lines, size: int, trials: int) -> Bucket:
    """Deleting a threshold cut joins two pieces: those whose join is over 8 x size items.

    Drawn by rejection from two independent geometric lengths; the share of
    edits is P(delete) x P(the line is a cut) x P(the join is that long).
    """
    rng = lines.rng
    p = lines.threshold / 2**64
    longest = MAX_PIECE_FACTOR * size
    drawn = 0
    pairs: list[tuple[int, int]] = []
    while len(pairs) < trials:
        drawn += 1
        first, second = 1 + int(rng.expovariate(p)), 1 + int(rng.expovariate(p))
        if first + second - 1 > 2 * longest:
            pairs.append((first, second))
    bucket = Bucket(0, 0.5 * p * len(pairs) / drawn)
    for first, second in pairs:
        head = lines.piece(first)
        items = [*lines.piece(1 + int(rng.expovariate(p))), *head]
        start = len(items)
        items += [*lines.piece(second), lines.line(True)]
        edited = items[:start] + items[start + 1 :]
        bucket.add(dirty(_shards(items, size), _shards(edited, size)))
    return bucket


def main(argv: list[str]) -> None:
    size = int(argv[0]) if argv else 10
    trials = int(argv[1]) if len(argv) > 1 else 5000
    buckets = measure(size, trials)
    total = 0.0
    for bucket in buckets:
        rate = bucket.over_four / bucket.trials
        total += bucket.share * rate
        where = f"pieces of {bucket.k} shards" if bucket.k else "cuts deleted, joins over 8 x size"
        print(
            f"size {size}, {where}: {bucket.share:.2e} of edits land there; "
            f"over 4 dirty in {bucket.over_four} of {bucket.trials} ({rate:.2%}), "
            f"worst {bucket.worst}"
        )
    print(f"size {size}: more than 4 dirty shards in about {total:.1e} of one-line edits")


if __name__ == "__main__":
    main(sys.argv[1:])
