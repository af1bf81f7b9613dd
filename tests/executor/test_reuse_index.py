"""The compact store of an old journal (`reuse_index`) decides as one model a record did.

A tiny reference — one `JournalRecord.model_validate_json` a line, the last
record of each id in a dict, the decision and checks as `reuse` made them
with whole records — is run beside `OldRun` over random journals: valid
records in compact and unusual forms, lax-typed lines only the model
accepts, lines that are not records, ids this plan does not have, repeated
ids. Every unit must get the same decision, output and warnings.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from shardplan_executor.fingerprint import UnitFingerprint
from shardplan_executor.journal import JournalRecord
from shardplan_executor.outputs import sha256_bytes
from shardplan_executor.reuse import Rerun, RerunReason, Reused, ReuseSources
from shardplan_executor.reuse_index import PlanUnits
from shardplan_executor.units import Unit, iter_phase_units
from shardplan_executor.verify import load_verified_plan
from shardplan_schemas.events import UnitCompleted, UnitReused

from .helpers import read_events, run_in_process
from .plan_factory import Layout, build_plan, make_lines

LAYOUTS = [Layout("context", chunk_size=2), Layout("translate", chunk_size=1, languages=("en",))]
SEGMENT_BYTES = b"".join(b'{"n":%d}\n' % n for n in range(40))
HANDLER = "h"
_PLAN: list[tuple[PlanUnits, list[Unit]]] = []


def _plan() -> tuple[PlanUnits, list[Unit]]:
    """A small plan's units (built once: hypothesis calls the test many times)."""
    if not _PLAN:
        folder = Path(tempfile.mkdtemp(prefix="shardplan-reuse-index-"))
        verified = load_verified_plan(build_plan(folder, make_lines(6), LAYOUTS))
        units = [
            unit
            for index, phase in enumerate(verified.plan.phases)
            for unit in iter_phase_units(index, phase, verified.shards[index], verified.start_ids)
        ]
        plan_units = PlanUnits(verified.plan.phases, verified.shards, verified.start_ids)
        _PLAN.append((plan_units, units))
    return _PLAN[0]


# --- the reference: the model-based reading as it was --------------------------------------


def _reference_records(lines: list[bytes]) -> tuple[dict[str, JournalRecord], int]:
    records: dict[str, JournalRecord] = {}
    bad = 0
    for line in lines:
        try:
            record = JournalRecord.model_validate_json(line)
        except (ValueError, RecursionError):
            bad += 1
            continue
        records[record.id] = record
    return records, bad


def _reference_read(unit: Unit, record: JournalRecord, warn: list[str]) -> bytes | None:
    if record.output is None:
        if record.records == 0 and record.output_sha256 == sha256_bytes(b""):
            return b""
        warn.append(f"{unit.unit_id}: its journal record names no output but records")
        return None
    if record.output != unit.segment:
        warn.append(f"{unit.unit_id}: names the output")
        return None
    if not 0 <= record.offset < 2**63 or not 0 < record.length <= 1 << 30:
        warn.append(f"{unit.unit_id}: its journal record names an impossible range")
        return None
    data = SEGMENT_BYTES[record.offset : record.offset + record.length]
    if len(data) != record.length or sha256_bytes(data) != record.output_sha256:
        warn.append(f"{unit.unit_id}: its records in {unit.segment} do not match")
        return None
    return data


def _reference_decide(
    record: JournalRecord | None,
    unit: Unit,
    fingerprint: UnitFingerprint | None,
    warn: list[str],
) -> tuple[RerunReason | None, bytes | None]:
    if record is None:
        return "no_record", None
    if record.sha256 != unit.sha256:
        return "shard_changed", None
    if record.fingerprint is None:
        return "no_fingerprint", None
    if record.fingerprint.language != unit.language:
        return "shard_changed", None
    if record.fingerprint.handler != HANDLER:
        return "handler_changed", None
    if fingerprint is None:
        return "upstream_dirty", None
    if record.fingerprint != fingerprint:
        return "upstream_changed", None
    output = _reference_read(unit, record, warn)
    return ("damaged_output", None) if output is None else (None, output)


# --- random journals --------------------------------------------------------------------------

_HEX = st.text("0123456789abcdef", min_size=64, max_size=64)
_DIGESTS = st.sampled_from(["a" * 64, "b" * 64]) | _HEX | st.sampled_from(["A" * 64, "x", ""])


@st.composite
def _lines(draw: st.DrawFn) -> bytes:
    _, units = _plan()
    unit = draw(st.sampled_from(units))
    unit_id = draw(st.sampled_from([unit.unit_id, unit.unit_id, "context:nowhere", "x"]))
    first = draw(st.integers(0, 38))
    length = draw(st.sampled_from([0, 1, 5, 9, 100]) | st.integers(-3, 40))
    offset = draw(st.sampled_from([first, -1, 2**63, 10**6]))
    data = SEGMENT_BYTES[offset : offset + length] if offset >= 0 else b""
    output = draw(st.sampled_from([unit.segment, unit.segment, None, "../x.jsonl", "outputs/a"]))
    checksum = draw(st.sampled_from([sha256_bytes(data)] * 3 + [sha256_bytes(b"")]) | _DIGESTS)
    record: dict[str, object] = {
        "id": unit_id,
        "sha256": draw(st.sampled_from([unit.sha256, unit.sha256, "0" * 32, unit.sha256.upper()])),
        "output": output,
        "offset": offset,
        "length": length,
        "output_sha256": checksum,
        "records": draw(st.sampled_from([0, 1, 3])),
    }
    form = draw(st.sampled_from(["fingerprint", "fingerprint", "null", "absent"]))
    if form == "fingerprint":
        record["fingerprint"] = {
            "language": draw(st.sampled_from([unit.language, unit.language, "fr", None])),
            "handler": draw(st.sampled_from([HANDLER, HANDLER, "other"])),
            "inputs_sha256": draw(_DIGESTS),
        }
    elif form == "null":
        record["fingerprint"] = None
    mangle = draw(st.sampled_from(["none"] * 6 + ["string-int", "float", "extra", "not-json"]))
    if mangle == "string-int":
        record["length"] = str(length)  # lax: the model takes it
    elif mangle == "float":
        record["offset"] = float(offset)
    elif mangle == "extra":
        record["more"] = 1
    text = json.dumps(record).encode()
    return text[:-3] if mangle == "not-json" else text


@st.composite
def _fingerprints(draw: st.DrawFn, unit: Unit) -> UnitFingerprint | None:
    if draw(st.booleans()):
        return None
    return UnitFingerprint(
        language=unit.language,
        handler=HANDLER,
        inputs_sha256=draw(st.sampled_from(["a" * 64, "b" * 64])),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(_lines(), max_size=30), st.data())
def test_the_compact_store_decides_as_the_records_did(
    lines: list[bytes], data: st.DataObject
) -> None:
    _, units = _plan()
    emitted: list[str] = []
    with _old_run(lines, emitted) as sources:
        (run,) = sources.runs
        reference, bad = _reference_records(lines)
        assert bool(bad) == any("are not journal records" in text for text in emitted)
        assert len(run.records) == len(reference)
        run.warnings._limit = 10**6  # every warning shown, to compare them
        for unit in units:
            fingerprint = data.draw(_fingerprints(unit))
            record = reference.get(unit.unit_id)
            expected: list[str] = []
            reason, output = _reference_decide(record, unit, fingerprint, expected)
            before = len(emitted)
            decision = sources.decide(unit, HANDLER, fingerprint)
            if reason is None:
                assert isinstance(decision, Reused)
                assert decision.output == output
            else:
                assert isinstance(decision, Rerun)
                assert decision.reason == reason
            assert sources.may_reuse(unit, HANDLER) == (
                reason not in ("no_record", "shard_changed", "no_fingerprint", "handler_changed")
            )
            shown = emitted[before:]
            assert len(shown) == len(expected)
            for text, start in zip(shown, expected, strict=True):
                head, _, tail = start.partition(": ")
                assert head in text
                assert tail.split()[0] in text
            # as `--out` of a dry run: finished with this shard and intact
            done = run.finished_output(unit)
            if record is None or record.sha256 != unit.sha256:
                assert done is None
            else:
                assert done == _reference_read(unit, record, [])


@contextmanager
def _old_run(lines: list[bytes], emitted: list[str]) -> Iterator[ReuseSources]:
    """An old run directory with these journal lines (segments of `SEGMENT_BYTES`), opened."""
    plan_units, units = _plan()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "outputs").mkdir()
        for segment in {unit.segment for unit in units}:
            (root / segment).write_bytes(SEGMENT_BYTES)
        (root / "journal.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
        sources = ReuseSources.open([root], emitted.append, plan_units)
        try:
            yield sources
        finally:
            sources.close()


def test_a_record_without_output_may_name_any_offset() -> None:
    """Its range is never read, so an offset no 64-bit array holds is no crash (found by the
    test above): the unit is reused with no records, as the model-based reading decided."""
    _, units = _plan()
    unit = units[0]
    fingerprint = UnitFingerprint(language=unit.language, handler=HANDLER, inputs_sha256="a" * 64)
    line = json.dumps(
        {
            "id": unit.unit_id,
            "sha256": unit.sha256,
            "output": None,
            "offset": 2**63,
            "length": 2**64,
            "output_sha256": sha256_bytes(b""),
            "records": 0,
            "fingerprint": fingerprint.model_dump(),
        }
    ).encode()
    with _old_run([line], []) as sources:
        decision = sources.decide(unit, HANDLER, fingerprint)
    assert isinstance(decision, Reused)
    assert decision.output == b""


# --- a later record of an id replaces an earlier one ------------------------------------------


def _kinds(run_dir: Path) -> dict[str, str]:
    return {
        event.unit_id: event.event
        for event in read_events(run_dir)
        if isinstance(event, UnitCompleted | UnitReused)
    }


def test_a_later_record_of_a_unit_replaces_an_earlier_one(tmp_path: Path) -> None:
    """Each unit's good record is followed by a copy of it spoiled, or preceded by one: the
    last decides, in compact form (a bad checksum) and kept whole (another output path)."""
    plan = build_plan(tmp_path, make_lines(8), [Layout("context", chunk_size=2)])
    assert run_in_process(plan, "cutoff_handler", tmp_path / "old", fsync=False).code == 0
    journal = tmp_path / "old" / "journal.jsonl"
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert len(records) == 4
    spoiled = [
        {**records[0], "output_sha256": "0" * 64},
        {**records[1], "output": "../elsewhere.jsonl"},
        {**records[2], "output_sha256": "0" * 64},
        {**records[3], "output": "../elsewhere.jsonl"},
    ]
    lines = [*records[:2], *spoiled[:2], *spoiled[2:], *records[2:]]
    journal.write_text("".join(json.dumps(record) + "\n" for record in lines))
    result = run_in_process(
        plan, "cutoff_handler", tmp_path / "new", fsync=False, reuse=(tmp_path / "old",)
    )
    assert result.code == 0, result.console
    assert _kinds(tmp_path / "new") == {
        records[0]["id"]: "unit_completed",
        records[1]["id"]: "unit_completed",
        records[2]["id"]: "unit_reused",
        records[3]["id"]: "unit_reused",
    }
    assert "do not match their journal checksum" in result.console
    assert "names the output '../elsewhere.jsonl'" in result.console
