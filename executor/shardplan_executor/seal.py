"""Seals: a finished phase's resume state, checked in bulk instead of record by record.

Resuming a finished million-line run read 730,000 journal records and
`pread` and hashed 730,000 byte ranges, one per unit: most of its time. When
a phase has finished and every unit of it is durable, a seal,
`seals/<phase>.seal`, records what a resume would conclude from the
journal so far for that phase, with what it concluded it from:

- `journal_bytes` and `journal_sha256`: the length of the journal at that
  moment and the SHA-256 of those bytes;
- for each of the phase's segments, its `size` and the SHA-256 of those
  bytes;
- the index: every unit's `offset` and `length` in its segment (`NO_OUTPUT`
  for a unit without records), 16 bytes a unit in `Unit.order`, whose
  SHA-256 is `index_sha256`.

A seal verifies only if the journal still begins with exactly those bytes
and each segment with exactly those bytes: then replaying the phase's
journal records up to `journal_bytes` would check the same ranges against
the same bytes and place every unit where the index does, so a resume
places the phase from the index (arrays, `frombytes`) after one sequential
hash per segment, and skips those records without parsing them. Records of
the phase after `journal_bytes` (there are none unless a run since did not
trust the seal) are replayed on top, as without a seal. Anything that does
not verify — a changed or missing byte, a seal of another plan, a torn or
edited seal — leaves the phase to the record-by-record path, unchanged.

Seals live beside the journal rather than in it: finding a record in the
journal means reading the journal, which is what the seal spares, and the
index is binary. A seal is a cache of the journal, never the only copy of
anything: deleting `seals/` only makes the next resume slower. It is written
atomically (a temporary file renamed over the old seal), after the phase's
units were fsynced, and the file ends with the SHA-256 of the rest, so a
torn or altered seal is never read as one.
"""

from __future__ import annotations

import hashlib
import sys
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from io import FileIO
from operator import add
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shardplan_executor.outputs import atomic_write, sha256_bytes
from shardplan_executor.store import NO_OUTPUT, SegmentStore

SEALS = "seals"
SEAL_FORMAT = "shardplan-seal/1"
READ_BYTES = 1 << 22
_DIGEST_BYTES = 32


class SealedSegment(BaseModel):
    """One segment of a sealed phase, as it was when sealed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="The segment, relative to the run directory.")
    size: int = Field(ge=0, description="Its size in bytes when sealed.")
    sha256: str = Field(description="SHA-256 of those bytes (lowercase hex).")


class SealHeader(BaseModel):
    """The first line of a seal file; the index and the file's own SHA-256 follow it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str = Field(description=f"Always {SEAL_FORMAT!r}.")
    plan_id: str = Field(description="The plan whose run this is.")
    phase: str = Field(description="The sealed phase.")
    phase_index: int = Field(ge=0, description="Its position among the plan's phases.")
    units: int = Field(ge=0, description="Its number of units (the index has 16 bytes each).")
    journal_bytes: int = Field(ge=0, description="The journal's length when sealed.")
    journal_sha256: str = Field(description="SHA-256 of the journal's first `journal_bytes`.")
    segments: list[SealedSegment] = Field(
        description="The phase's segments, one per language, in the phase's language order."
    )
    index_sha256: str = Field(description="SHA-256 of the index bytes.")


@dataclass(frozen=True)
class Seal:
    """A seal read back and checked against itself (not yet against the run directory)."""

    header: SealHeader
    offsets: array[int]
    lengths: array[int]


def seal_path(run_dir: Path, phase: str) -> Path:
    return run_dir / SEALS / f"{phase}.seal"


def _little_endian(values: array[int]) -> bytes:
    if sys.byteorder == "little":
        return values.tobytes()
    swapped = array("q", values)
    swapped.byteswap()
    return swapped.tobytes()


def _from_little_endian(data: bytes) -> array[int]:
    values = array("q")
    values.frombytes(data)
    if sys.byteorder != "little":
        values.byteswap()
    return values


def encode_seal(header: SealHeader, offsets: array[int], lengths: array[int]) -> bytes:
    """The seal file's bytes: the header line, the index, the SHA-256 of both."""
    body = header.model_dump_json().encode() + b"\n" + index_bytes(offsets, lengths)
    return body + hashlib.sha256(body).digest()


def index_bytes(offsets: array[int], lengths: array[int]) -> bytes:
    """The index as stored: every offset, then every length, little-endian int64."""
    return _little_endian(offsets) + _little_endian(lengths)


def decode_seal(data: bytes) -> Seal | None:
    """The seal in `data`, or None when it is torn, altered or not a seal of this format."""
    if len(data) < _DIGEST_BYTES:
        return None
    body, digest = data[:-_DIGEST_BYTES], data[-_DIGEST_BYTES:]
    if hashlib.sha256(body).digest() != digest:
        return None
    line_end = body.find(b"\n")
    if line_end < 0:
        return None
    try:
        header = SealHeader.model_validate_json(body[:line_end])
    except ValidationError:
        return None
    index = body[line_end + 1 :]
    if header.format != SEAL_FORMAT or len(index) != 16 * header.units:
        return None
    if sha256_bytes(index) != header.index_sha256:
        return None
    middle = 8 * header.units
    return Seal(header, _from_little_endian(index[:middle]), _from_little_endian(index[middle:]))


def read_seal(run_dir: Path, phase: str) -> Seal | None:
    """The phase's seal, if there is one that is whole (see `decode_seal`)."""
    try:
        data = seal_path(run_dir, phase).read_bytes()
    except OSError:
        return None
    return decode_seal(data)


def _hash_into(update: Callable[[memoryview], None], stream: FileIO, size: int) -> int:
    """Feed up to `size` bytes of `stream` to `update` (a digest's); how many there were.

    Read into one reused buffer: a new 4 MiB `bytes` per read cost a fresh
    mapping and its page faults each time (a resume hashes some 800 MB).
    """
    buffer = bytearray(min(READ_BYTES, max(size, 1)))
    view = memoryview(buffer)
    done = 0
    while done < size:
        got = stream.readinto(view[: min(len(buffer), size - done)])
        if not got:
            break
        update(view[:got])
        done += got
    return done


def prefix_sha256(path: Path, size: int) -> str | None:
    """SHA-256 of the file's first `size` bytes; None when it is shorter or cannot be read."""
    digest = hashlib.sha256()
    try:
        with path.open("rb", buffering=0) as stream:
            if _hash_into(digest.update, stream, size) != size:
                return None
    except FileNotFoundError:
        return None if size else digest.hexdigest()
    except OSError:
        return None
    return digest.hexdigest()


def index_fits(seal: Seal, width: int) -> bool:
    """Every unit's range lies inside its language's sealed segment (a sanity check in C)."""
    offsets, lengths = seal.offsets, seal.lengths
    if not offsets:
        return True
    if min(offsets) < NO_OUTPUT or min(lengths) < 0:
        return False
    for language_index, segment in enumerate(seal.header.segments):
        ends = map(add, offsets[language_index::width], lengths[language_index::width])
        if max(ends, default=0) > segment.size:
            return False
    return True


class JournalDigest:
    """A running SHA-256 of the journal's first bytes, advanced as seals need it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.position = 0
        self._digest = hashlib.sha256()

    def at(self, size: int) -> str | None:
        """SHA-256 of the journal's first `size` bytes (at or past the position so far).

        None when the journal is shorter, or `size` is behind the position
        (a caller asks in increasing order).
        """
        if size < self.position:
            return None
        try:
            with self.path.open("rb", buffering=0) as stream:
                stream.seek(self.position)
                self.position += _hash_into(self._digest.update, stream, size - self.position)
        except OSError:
            return None
        if self.position != size:
            return None
        return self._digest.hexdigest()


def write_seal(
    run_dir: Path,
    *,
    plan_id: str,
    phase: str,
    phase_index: int,
    segments: list[str],
    store: SegmentStore,
    journal: JournalDigest,
    journal_bytes: int,
    fsync: bool,
) -> bool:
    """Seal a finished phase whose units are durable; False when the journal cannot be read.

    `segments` are the phase's, one per language in its language order.
    """
    journal_sha256 = journal.at(journal_bytes)
    if journal_sha256 is None:
        return False
    sealed: list[SealedSegment] = []
    for segment in segments:
        size = store.size(segment)
        digest = prefix_sha256(run_dir / segment, size)
        if digest is None:
            return False
        sealed.append(SealedSegment(path=segment, size=size, sha256=digest))
    offsets, lengths = store.offsets[phase_index], store.lengths[phase_index]
    header = SealHeader(
        format=SEAL_FORMAT,
        plan_id=plan_id,
        phase=phase,
        phase_index=phase_index,
        units=len(offsets),
        journal_bytes=journal_bytes,
        journal_sha256=journal_sha256,
        segments=sealed,
        index_sha256=sha256_bytes(index_bytes(offsets, lengths)),
    )
    (run_dir / SEALS).mkdir(exist_ok=True)
    atomic_write(seal_path(run_dir, phase), encode_seal(header, offsets, lengths), fsync=fsync)
    return True
