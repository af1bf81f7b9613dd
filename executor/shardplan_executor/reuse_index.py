"""What an old journal says of this plan's units, kept in a few bytes a unit (`run --reuse`).

A finished million-line run's journal is 730,000 records. Kept as one
pydantic `JournalRecord` each in a dict keyed by unit id, they took about
1.8 GB, and validating them one model a line some 13 s. Deciding and
copying need far less, and only for the units of *this* plan (an id this
plan does not have can never be asked for), so each record is reduced, as it
is read, to what the decisions in `reuse` and the checks in `reuse_source`
read, stored in arrays indexed by the unit's position in this plan (its
phase, then `Unit.order`):

- `kind`, one byte: no record; a record of another shard (its `sha256`
  differs from the plan's: nothing else of it is ever read); a record with
  its output in the unit's own segment; one without records (`output: null`,
  0 records, the empty output's checksum); or an unusual record;
- the handler identity, an index into a small table of the distinct ones
  (4 bytes; -1 for a record without fingerprint);
- `offset` and `length` (8 bytes each);
- `output_sha256` and the fingerprint's `inputs_sha256` as 32 raw bytes each.

That is 85 bytes a unit of this plan (about 62 MB at a million lines; the
arrays of a phase are made when its first record is read). The language is
checked against the unit's own as the record is read, and the shard's
`sha256` against the plan's.

A record whose fields are unusual — another output path, a language that is
not its unit's, an impossible range, a checksum that is not 64 lowercase hex
digits, a line that only the model's lax parsing accepts — is kept whole, as
its `JournalRecord`, in a side dict: such records name a unit's fate only to
make it run again (with the same warning as before), and a real journal has
none. A later record of the same id replaces an earlier one, in either form.

Each line is parsed by one `orjson.loads` and its fields checked by exact
type, without a model; a line that fails that goes through
`JournalRecord.model_validate_json`, so exactly the lines the model accepts
are accepted, as before. Lines are parsed one at a time, not a block at
once as a JSON array: lines of a hostile journal can be made to merge into
one value inside an array (a value spanning two lines next to a line of two
values), and each record here must be the line it was written as.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Sequence

import orjson
from pydantic import ValidationError

from shardplan_executor.fingerprint import UnitFingerprint
from shardplan_executor.journal import JournalRecord, record_fields
from shardplan_executor.outputs import sha256_bytes
from shardplan_executor.plan_reader import PhaseShards
from shardplan_executor.store import segment_path
from shardplan_executor.units import Finished, Unit, languages_of
from shardplan_schemas.plan import PlanPhase

ABSENT, OTHER_SHARD, IN_SEGMENT, EMPTY, UNUSUAL = range(5)
"""A unit's `kind`: what its last old journal record is."""
NO_HANDLER = -1
"""The handler index of a record without fingerprint."""
MAX_OUTPUT_BYTES = 1 << 30
EMPTY_SHA256 = sha256_bytes(b"")
_FIELDS = frozenset(("id", "sha256", "output", "offset", "length", "output_sha256", "records"))
_FINGERPRINTED = _FIELDS | {"fingerprint"}
_FINGERPRINT_FIELDS = frozenset(("language", "handler", "inputs_sha256"))
MAX_OFFSET = (1 << 63) - 1
"""The largest offset `pread` takes (a larger one is an impossible range)."""


class PlanUnits:
    """This plan's units, as an old journal's unit ids are matched with them."""

    def __init__(
        self,
        phases: Sequence[PlanPhase],
        shards: Sequence[PhaseShards],
        start_ids: dict[int, str],
    ) -> None:
        finished = Finished(phases, shards, start_ids)
        self.counts = [len(flags) for flags in finished.flags]
        self.position_of = finished.position_of
        """Position of each source line that starts a shard, by its id."""
        self.heads: dict[str, tuple[int, int, int, array[int], bytes, str | None, str]] = {}
        """By unit id head (`<phase>[.<lang>]`, enabled phases): the phase's index, the
        language's index, the phase's width, its shards' starts and fingerprints, the
        language and the segment."""
        for head, (phase_index, language_index, width, starts, prints) in finished.heads().items():
            language = languages_of(phases[phase_index])[language_index]
            self.heads[head] = (
                phase_index,
                language_index,
                width,
                starts,
                prints,
                language,
                segment_path(phases[phase_index].phase, language),
            )


def _digest(text: object) -> bytes | None:
    """The 32 bytes of a SHA-256 in 64 lowercase hex digits; None for any other value."""
    if type(text) is not str or len(text) != 64:
        return None
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return None
    return raw if raw.hex() == text else None


class _Phase:
    """One phase's arrays, indexed by `Unit.order`."""

    __slots__ = ("handler", "inputs", "kind", "length", "offset", "output_sha256")

    def __init__(self, count: int) -> None:
        self.kind = bytearray(count)
        self.handler = array("i", [NO_HANDLER]) * count
        self.offset = array("q", [0]) * count
        self.length = array("q", [0]) * count
        self.output_sha256 = bytearray(32 * count)
        self.inputs = bytearray(32 * count)


class OldRecords:
    """The last valid journal record of each unit of this plan, compactly (module docstring)."""

    def __init__(self, units: PlanUnits) -> None:
        self._units: PlanUnits | None = units
        """While the journal is read (its line ids map, dropped by `done`)."""
        self._counts = units.counts
        self._phases: list[_Phase | None] = [None] * len(units.counts)
        self.handlers: list[str] = []
        self._handler_index: dict[str, int] = {}
        self.unusual: dict[tuple[int, int], JournalRecord] = {}
        self._elsewhere: set[int] = set()
        """Hashes of the ids not of this plan, to count the units of the old run (a 64-bit
        hash: two ids mistaken for one, once in 10**8 at a million ids, only miscount)."""
        self._elsewhere_count = 0

    def __len__(self) -> int:
        """Finished units of the old run: of this plan, and of ids this plan does not have."""
        inside = sum(len(p.kind) - p.kind.count(ABSENT) for p in self._phases if p is not None)
        return inside + self._elsewhere_count + len(self._elsewhere)

    def add_line(self, line: bytes) -> bool:
        """Take one journal line; False when it is not a journal record."""
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            value = None
        if type(value) is dict and self._add_value(value):
            return True
        try:
            record = JournalRecord.model_validate_json(line)
        except (ValidationError, ValueError, RecursionError):
            return False
        self.add_record(record)
        return True

    def _add_value(self, value: dict[str, object]) -> bool:
        """Store a parsed line whose fields have exactly the journal's types; False if not."""
        keys = value.keys()
        if keys == _FINGERPRINTED:
            fingerprint = value["fingerprint"]
        elif keys == _FIELDS:
            fingerprint = None
        else:
            return False
        checked = record_fields(value)
        if checked is None:
            return False
        unit_id, sha256, output, offset, length, checksum, records = checked
        language: str | None = None
        handler: str | None = None
        inputs = ""
        if fingerprint is not None:
            if type(fingerprint) is not dict or fingerprint.keys() != _FINGERPRINT_FIELDS:
                return False
            language, handler = fingerprint["language"], fingerprint["handler"]
            digest_text = fingerprint["inputs_sha256"]
            if (
                not (language is None or type(language) is str)
                or type(handler) is not str
                or type(digest_text) is not str
            ):
                return False
            inputs = digest_text
        units = self._units
        assert units is not None, "read after `done`"
        head, _, line_id = unit_id.partition(":")
        found = units.heads.get(head)
        position = units.position_of.get(line_id)
        if found is None or position is None:
            self._elsewhere.add(hash(unit_id))
            return True
        phase_index, language_index, width, starts, known, unit_language, segment = found
        shard_index = bisect_left(starts, position)
        if shard_index >= len(starts) or starts[shard_index] != position:
            self._elsewhere.add(hash(unit_id))
            return True
        order = shard_index * width + language_index
        phase = self._phase(phase_index)
        key = (phase_index, order)
        if sha256.encode() != known[shard_index * 32 : shard_index * 32 + 32]:
            self._set(phase, key, OTHER_SHARD)
            return True
        digest = _digest(checksum)
        raw_inputs = _digest(inputs) if handler is not None else b""
        if output is None:
            kind = EMPTY if records == 0 and checksum == EMPTY_SHA256 else UNUSUAL
        elif output == segment and 0 <= offset <= MAX_OFFSET and 0 < length <= MAX_OUTPUT_BYTES:
            kind = IN_SEGMENT
        else:
            kind = UNUSUAL
        if (
            kind == UNUSUAL
            or digest is None
            or raw_inputs is None
            or (handler is not None and language != unit_language)
        ):
            record = JournalRecord.model_construct(
                id=unit_id,
                sha256=sha256,
                output=output,
                offset=offset,
                length=length,
                output_sha256=checksum,
                records=records,
                fingerprint=None
                if handler is None
                else UnitFingerprint.model_construct(
                    language=language, handler=handler, inputs_sha256=inputs
                ),
            )
            self._set(phase, key, UNUSUAL)
            self.unusual[key] = record
            return True
        order_32 = order * 32
        self._set(phase, key, kind)
        phase.handler[order] = NO_HANDLER if handler is None else self._intern(handler)
        # A unit without records has no range: whatever its record says there (any
        # integer, even one no array holds) is never read.
        phase.offset[order] = offset if kind == IN_SEGMENT else 0
        phase.length[order] = length if kind == IN_SEGMENT else 0
        phase.output_sha256[order_32 : order_32 + 32] = digest
        if raw_inputs:
            phase.inputs[order_32 : order_32 + 32] = raw_inputs
        return True

    def add_record(self, record: JournalRecord) -> None:
        """Store a record the model accepted (a line of unusual form): through the fast path
        when its values allow, else whole."""
        fingerprint = record.fingerprint
        value: dict[str, object] = {
            "id": record.id,
            "sha256": record.sha256,
            "output": record.output,
            "offset": record.offset,
            "length": record.length,
            "output_sha256": record.output_sha256,
            "records": record.records,
        }
        if fingerprint is not None:
            value["fingerprint"] = dict(fingerprint.__dict__)
        added = self._add_value(value)
        assert added, "a validated record has the journal's types"

    def _phase(self, phase_index: int) -> _Phase:
        phase = self._phases[phase_index]
        if phase is None:
            phase = self._phases[phase_index] = _Phase(self._counts[phase_index])
        return phase

    def _set(self, phase: _Phase, key: tuple[int, int], kind: int) -> None:
        """A later record of a unit replaces an earlier one, whatever their forms."""
        if phase.kind[key[1]] == UNUSUAL and kind != UNUSUAL:
            del self.unusual[key]
        phase.kind[key[1]] = kind

    def _intern(self, handler: str) -> int:
        index = self._handler_index.get(handler)
        if index is None:
            index = self._handler_index[handler] = len(self.handlers)
            self.handlers.append(handler)
        return index

    def done(self) -> None:
        """Reading is over: keep only the count of the ids this plan does not have."""
        self._elsewhere_count += len(self._elsewhere)
        self._elsewhere = set()
        self._units = None

    # --- lookups, by a unit of this plan ------------------------------------------------------

    def kind(self, unit: Unit) -> int:
        phase = self._phases[unit.phase_index]
        return ABSENT if phase is None else phase.kind[unit.order]

    def handler(self, unit: Unit) -> str | None:
        """The handler identity of a compact record; None without fingerprint."""
        phase = self._phases[unit.phase_index]
        assert phase is not None
        index = phase.handler[unit.order]
        return None if index == NO_HANDLER else self.handlers[index]

    def inputs_sha256(self, unit: Unit) -> str:
        phase = self._phases[unit.phase_index]
        assert phase is not None
        return phase.inputs[unit.order * 32 : unit.order * 32 + 32].hex()

    def output_range(self, unit: Unit) -> tuple[int, int, str]:
        """`(offset, length, output_sha256)` of a record with its output in its segment."""
        phase = self._phases[unit.phase_index]
        assert phase is not None
        order = unit.order
        checksum = phase.output_sha256[order * 32 : order * 32 + 32].hex()
        return phase.offset[order], phase.length[order], checksum
