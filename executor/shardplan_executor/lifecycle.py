"""A unit's life once the window takes it: its task, its records stored, its journal record.

`UnitLifecycle` is the part of a run (`execution.Execution`) the sliding
window calls: it builds the unit's task (inputs narrowed and digested for
its fingerprint), appends the handler's records to the unit's segment as
soon as they exist, journals each finished batch through group commit and
reports units completed once durable (events, progress).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

from shardplan_executor.backends import Backend
from shardplan_executor.commit import GroupCommit
from shardplan_executor.events import EventLog, unit_completed_line, utc_timestamp
from shardplan_executor.fingerprint import UnitFingerprint, inputs_digest
from shardplan_executor.journal import (
    JournalRecord,
)
from shardplan_executor.options import RunOptions
from shardplan_executor.outputs import sha256_bytes
from shardplan_executor.progress import Progress
from shardplan_executor.record_index import InputIndex
from shardplan_executor.records import EncodedRecords
from shardplan_executor.scheduler import (
    Failure,
    Success,
)
from shardplan_executor.source_index import LazyLines, Source
from shardplan_executor.store import SegmentStore, Stored
from shardplan_executor.trusted import trusted
from shardplan_executor.units import Finished, Unit
from shardplan_schemas.events import (
    EVENT_ADAPTER,
    UnitFailed,
    UnitRetried,
    UnitReused,
)
from shardplan_schemas.plan import ShardPlan
from shardplan_schemas.task import Record, ShardTask

EMPTY_SHA256 = sha256_bytes(b"")
KEEP_BYTES = 1 << 20
"""An output up to this size is indexed from the parts just written and the handler's
records; a bigger one (a `full` unit's) is read back and decoded a block at a time."""


class UnitLifecycle:
    """The sliding window's sink and call; `Execution` holds the state it uses."""

    options: RunOptions
    plan: ShardPlan
    source: Source
    identity: str
    backend: Backend
    store: SegmentStore
    inputs: InputIndex
    indexed: set[int]
    commit: GroupCommit
    finished: Finished
    events: EventLog
    progress: Progress
    fingerprints: dict[str, UnitFingerprint]
    """Fingerprints of the units sent to the handler, journaled when they finish."""
    reused_from: dict[str, str]
    """Units being journaled from a `--reuse` directory, and which one."""

    def _fingerprint(self, unit: Unit, inputs: Mapping[str, Sequence[Record]]) -> UnitFingerprint:
        """The unit's fingerprint, kept until its journal record is written."""
        fingerprint = self.fingerprints.get(unit.unit_id)
        if fingerprint is None:
            fingerprint = trusted(
                UnitFingerprint,
                {
                    "language": unit.language,
                    "handler": self.identity,
                    "inputs_sha256": inputs_digest(inputs),
                },
            )
            self.fingerprints[unit.unit_id] = fingerprint
        return fingerprint

    def _task(self, unit: Unit) -> ShardTask:
        inputs = self.inputs.inputs_for(unit)
        self._fingerprint(unit, inputs)
        # Built from verified data only, so model validation would only cost time. Lines
        # and inputs are lazy sequences: read from the source and the outputs when used.
        return trusted(
            ShardTask,
            {
                "phase": unit.phase.phase,
                "target_language": unit.language,
                "agents": list(unit.phase.agents),
                "unit_id": unit.unit_id,
                "shard_key": f"{unit.phase.phase}:{unit.line_id}",
                "lines": LazyLines(self.source, unit.start, unit.end),
                "inputs": inputs,
                "plan_id": self.plan.plan_id,
            },
        )

    async def _call(self, unit: Unit) -> Stored:
        return self._store_output(unit, await self.backend.run_chunks(self._task(unit)))

    def _store_output(self, unit: Unit, parts: Iterable[bytes]) -> Stored:
        """Append a unit's records to its segment as they are encoded; where they went.

        Written before the window sees the unit finish, so a `full` unit's
        bytes are neither held whole nor kept while the next unit runs. The
        unit is finished only once its journal record is written
        (`succeeded`): bytes of a unit killed before that are never read
        (see `resume`). A record that cannot be encoded fails the attempt,
        and what this unit appended is cut off again (nothing else can have
        been appended meanwhile: this runs on the event loop, without a pause).
        """
        store, segment = self.store, unit.segment
        digest = hashlib.sha256()
        offset = -1
        length = records = 0
        indexed = unit.phase_index in self.indexed
        kept: list[bytes] = []
        """The parts of a small output that a later phase's inputs index: not read back."""
        try:
            for part in parts:
                if not part:
                    continue
                at = store.append(segment, part)
                offset = at if offset < 0 else offset
                digest.update(part)
                length += len(part)
                records += part.count(b"\n")
                if indexed and length <= KEEP_BYTES:
                    kept.append(part)
        except BaseException:
            if offset >= 0:
                store.truncate(segment, offset)
            raise
        if offset < 0:
            stored = Stored(None, 0, 0, EMPTY_SHA256, 0)
        else:
            store.place(unit.phase_index, unit.order, offset, length)
            stored = Stored(segment, offset, length, digest.hexdigest(), records)
        if not indexed:
            return stored
        if length > KEEP_BYTES:  # a `full` unit: read back, decoded a block at a time
            del parts, kept  # the handler's records, which would double the peak
            self.inputs.add_output(unit, store.read(segment, offset, length), offset)
            return stored
        plain = parts.plain_records() if isinstance(parts, EncodedRecords) else None
        data = kept[0] if len(kept) == 1 else b"".join(kept)
        self.inputs.add_output(unit, data, max(offset, 0), plain)
        return stored

    # --- the window's sink -------------------------------------------------------------

    def started(self, unit: Unit) -> None:
        return None

    def retried(self, unit: Unit, attempt: int, error: str, delay_ms: int) -> None:
        self.events.emit(
            UnitRetried(
                timestamp=utc_timestamp(),
                event="unit_retried",
                unit_id=unit.unit_id,
                attempt=attempt,
                error=error,
                delay_ms=delay_ms,
            )
        )

    def succeeded(self, batch: Sequence[Success]) -> None:
        """Journal a batch whose records are in their segments (fsynced by group commit)."""
        segments: set[str] = set()
        records: list[JournalRecord] = []
        for success in batch:
            unit, stored = success.unit, success.output
            if stored.segment is not None:
                segments.add(stored.segment)
            records.append(
                trusted(
                    JournalRecord,
                    {
                        "id": unit.unit_id,
                        "sha256": unit.sha256,
                        "output": stored.segment,
                        "offset": stored.offset,
                        "length": stored.length,
                        "output_sha256": stored.sha256,
                        "records": stored.records,
                        "fingerprint": self.fingerprints.pop(unit.unit_id, None),
                    },
                )
            )
        self.commit.submit(segments, batch, records)

    def _durable(self, batch: Sequence[Success], records: Sequence[JournalRecord]) -> None:
        """Report a durable batch: one timestamp (they became durable together), one write.

        A `unit_completed` event is encoded straight from its values
        (`events.unit_completed_line`, held to the model's bytes by a test):
        validating a model per unit cost more than journaling the unit.
        """
        reused = 0
        now = utc_timestamp()
        lines: list[bytes] = []
        finished = self.finished
        for success, record in zip(batch, records, strict=True):
            unit = success.unit
            finished.add(unit.phase_index, unit.order)
            source = self.reused_from.pop(unit.unit_id, None) if self.reused_from else None
            if source is not None:
                reused += 1
                event = UnitReused(
                    timestamp=now,
                    event="unit_reused",
                    unit_id=unit.unit_id,
                    source=source,
                    records=record.records,
                )
                lines.append(EVENT_ADAPTER.dump_json(event) + b"\n")
                continue
            lines.append(
                unit_completed_line(
                    now, unit.unit_id, success.attempt, record.records, success.duration_ms
                )
            )
        self.events.emit_lines(lines)
        self.progress.advance(done=len(batch) - reused, reused=reused)

    def failed(self, failure: Failure) -> None:
        self.events.emit(
            UnitFailed(
                timestamp=utc_timestamp(),
                event="unit_failed",
                unit_id=failure.unit.unit_id,
                attempts=failure.attempts,
                error=failure.error,
                traceback=failure.traceback,
            )
        )
        self.progress.advance(failed=1)
        self.progress.error(
            f"error: unit {failure.unit.unit_id} failed after {failure.attempts} attempt(s): "
            f"{failure.error}"
        )
