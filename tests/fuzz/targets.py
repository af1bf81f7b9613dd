"""The fuzz targets: each takes arbitrary bytes and may raise only on a bug.

A reader of untrusted input has one documented way to say "bad input" — a
diagnostic, `SourceFormatError`, `PlanError` or `PlanRefusedError` — and
anything else escaping it (a `ValueError`, a `RecursionError`, a
`KeyError`...) is what reaches a user as a traceback. The targets also check
that the two source readers, the compiler's and the executor's, agree on
which files are valid and on their lines: if they did not, a plan would
describe lines the executor never sees.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from shardplan_compiler.commands.diff import matching_source
from shardplan_compiler.plan_diff import diff_plans
from shardplan_compiler.plan_io import PlanError, parse_plan
from shardplan_compiler.render.diagnostics import render_diagnostics
from shardplan_compiler.render.plan_diff import (
    render_diff_json,
    render_diff_markdown,
    render_diff_text,
)
from shardplan_compiler.render.review_page import render_diff_html, render_show_html
from shardplan_compiler.sources import SourceTable, read_source
from shardplan_compiler.spec_loading import load_spec
from shardplan_executor.fingerprint import UnitFingerprint
from shardplan_executor.journal import JournalRecord
from shardplan_executor.outputs import sha256_bytes
from shardplan_executor.reuse import Reused, ReuseSources
from shardplan_executor.reuse_index import PlanUnits
from shardplan_executor.reuse_source import MAX_LINE_BYTES, ReuseSourceError
from shardplan_executor.units import Unit, iter_phase_units
from shardplan_executor.verify import PlanRefusedError, load_verified_plan
from shardplan_schemas.plan import ShardPlan
from shardplan_schemas.primitives import SourceFormat
from shardplan_schemas.source_formats import SourceFormatError, read_source_lines

from .seeds import GOLDEN, golden_plan

Target = Callable[[bytes], None]

_SCRATCH = Path(
    tempfile.mkdtemp(
        prefix="shardplan-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None
    )
)


def _file(name: str, data: bytes) -> Path:
    path = _SCRATCH / name
    path.write_bytes(data)
    return path


def fuzz_spec(data: bytes) -> None:
    """The YAML loader and validation, then every diagnostic renderer."""
    loaded = load_spec(_file("fuzz.shardplan.yaml", data))
    errors = [d for d in loaded.diagnostics if d.severity == "error"]
    if loaded.spec is None and not errors:
        raise AssertionError("a spec was refused without an error diagnostic")
    if loaded.spec is not None and errors:
        raise AssertionError("a spec with errors was accepted")
    for diagnostic in loaded.diagnostics:
        if diagnostic.line < 1 or diagnostic.column < 1:
            raise AssertionError(f"a diagnostic without a position: {diagnostic}")
    for fmt in ("text", "json", "github", "sarif"):
        render_diagnostics(loaded.diagnostics, fmt)


def _fuzz_source(fmt: SourceFormat, data: bytes) -> None:
    path = _file(f"fuzz.{fmt}", data)
    compiled = read_source(path, fmt)
    try:
        lines = read_source_lines(path, fmt)
    except SourceFormatError:
        lines = None
    errors = [d for d in compiled.diagnostics if d.severity == "error"]
    if (lines is None) != bool(errors):
        shown = "; ".join(d.message for d in errors) or "no error"
        raise AssertionError(
            f"the compiler ({shown}) and the executor "
            f"({'refused' if lines is None else 'accepted'}) disagree on a {fmt} source"
        )
    if (
        lines is not None
        and compiled.table is not None
        and [line.line_id for line in lines] != list(compiled.table.line_ids)
    ):
        raise AssertionError(f"the two readers read different lines from a {fmt} source")


def fuzz_source_jsonl(data: bytes) -> None:
    """JSONL through the compiler's reader and the executor's, which must agree."""
    _fuzz_source("jsonl", data)


def fuzz_source_csv(data: bytes) -> None:
    """CSV through both readers."""
    _fuzz_source("csv", data)


def fuzz_source_txt(data: bytes) -> None:
    """TXT through both readers."""
    _fuzz_source("txt", data)


def fuzz_plan(data: bytes) -> None:
    """Plan loading: the compiler's `parse_plan` (show, diff) and the executor's verification."""
    path = _file("fuzz.plan.json", data)
    with contextlib.suppress(PlanError):
        parse_plan(data, path)
    with contextlib.suppress(PlanRefusedError):
        load_verified_plan(path)


_GOLDEN_PLAN: list[tuple[ShardPlan, SourceTable]] = []


def fuzz_diff_reasons(data: bytes) -> None:
    """diff's reasons path with a source that does not match its plan's sha256.

    The fuzzed bytes replace the golden plan's source: `matching_source`
    must ignore them (or refuse a forged plan), and the reasons must be built
    and rendered without error even from a source that is not the plan's.
    """
    if not _GOLDEN_PLAN:
        good = golden_plan()
        golden_table = read_source(GOLDEN / "script.jsonl", "jsonl").table
        assert golden_table is not None
        _GOLDEN_PLAN.append((parse_plan(good, _file("golden.plan.json", good)), golden_table))
    plan, golden_table = _GOLDEN_PLAN[0]
    plan_path = _file("diff.plan.json", b"{}")
    source = plan_path.parent / plan.source.path
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(data)
    try:
        table = matching_source(plan, plan_path)
    except PlanError:
        table = None
    if table is not None and table.sha256 != plan.source.sha256:
        raise AssertionError("a source that does not match its plan was used for reasons")
    fuzzed = read_source(source, "jsonl").table
    for new_table in (table, fuzzed):
        diff = diff_plans(plan, plan, golden_table, new_table)
        render_diff_text(diff, "old", "new")
        render_diff_markdown(diff, "old", "new")
        render_diff_json(diff)


def fuzz_rentl(data: bytes) -> None:
    """`import rentl`: the TOML reader, rentl's model, the findings, the spec template.

    What it writes must be a spec `validate` accepts: the import never hands
    a user a spec with errors.
    """
    from shardplan_compiler.rentl.importer import SCHEMA_URL, import_rentl

    config = _file("rentl.toml", data)
    result = import_rentl(config, _SCRATCH, SCHEMA_URL, "shardplan import rentl")
    errors = [d for d in result.diagnostics if d.severity == "error"]
    if (result.spec_text is None) != bool(errors):
        raise AssertionError("a spec was written despite errors, or none without one")
    for diagnostic in result.diagnostics:
        if diagnostic.line < 1 or diagnostic.column < 1:
            raise AssertionError(f"a diagnostic without a position: {diagnostic}")
    for fmt in ("text", "json", "github", "sarif"):
        render_diagnostics(result.diagnostics, fmt)
    if result.spec_text is not None:
        spec = _file("imported.shardplan.yaml", result.spec_text.encode("utf-8"))
        bad = [d for d in load_spec(spec).diagnostics if d.severity == "error"]
        if bad:
            raise AssertionError(f"the imported spec does not validate: {bad[0]}")


_TAG = re.compile(r"<([A-Za-z!/][^\s>]*)")
_PAGE_DATA = re.compile(r'<script type="application/json" id="page-data">(.*?)</script>', re.S)
_REVIEW: dict[str, tuple[ShardPlan, Path]] = {}
_REVIEW_TABLE: list[SourceTable | None] = []


def _review_base() -> tuple[ShardPlan, Path]:
    """The golden plan, compiled once into the scratch directory, and its directory."""
    if not _REVIEW:
        old = _SCRATCH / "review-old"
        old.mkdir(exist_ok=True)
        (old / "script.jsonl").write_bytes((GOLDEN / "script.jsonl").read_bytes())
        (old / "golden.shardplan.yaml").write_bytes((GOLDEN / "golden.shardplan.yaml").read_bytes())
        data = golden_plan(old)
        _REVIEW["old"] = (parse_plan(data, old / "golden.plan.json"), old)
        _REVIEW_TABLE.append(read_source(old / "script.jsonl", "jsonl").table)
    return _REVIEW["old"]


def _review_pages(fields: list[str]) -> tuple[str, str]:
    """The show and diff pages of the golden plan against a recompiled, edited golden plan,
    with `fields` put into every free-text place a page shows."""
    agent, spec_path, version, generator, line_text, speaker = fields
    old, old_dir = _review_base()
    new_dir = _SCRATCH / "review-new"
    new_dir.mkdir(exist_ok=True)
    lines = (old_dir / "script.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[40])
    record["text"] = line_text
    record["speaker"] = speaker
    lines[40] = json.dumps(record, ensure_ascii=False)
    (new_dir / "script.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # The new plan is the old one with the edited line's shards refingerprinted: what a
    # compile would give, without paying for one per input.
    new_table = read_source(new_dir / "script.jsonl", "jsonl").table
    if new_table is None:
        raise AssertionError("the edited golden script does not read")
    phases = []
    for phase in old.phases:
        shards = [
            shard.model_copy(update={"sha256": "0" * 32})
            if shard.start <= 40 < shard.end
            else shard
            for shard in phase.shards
        ]
        update: dict[str, object] = {"shards": shards}
        if phase.agents:
            update["agents"] = [agent]
        phases.append(phase.model_copy(update=update))
    new = old.model_copy(
        update={
            "spec": old.spec.model_copy(update={"path": spec_path}),
            "generator": old.generator.model_copy(update={"name": generator, "version": version}),
            "source": old.source.model_copy(update={"sha256": new_table.sha256}),
            "phases": phases,
        }
    )
    old_table = _REVIEW_TABLE[0]
    show = render_show_html(new, new_dir)
    diff = diff_plans(old, new, old_table, new_table)
    page = render_diff_html(old, new, diff, old_dir, new_dir, (old_table, new_table))
    return show, page


@functools.lru_cache(maxsize=256)
def _neutral_tags(lengths: tuple[int, ...]) -> tuple[list[str], list[str]]:
    """The tags of the pages with harmless letters of these lengths (many inputs share them)."""
    show, diff = _review_pages(["x" * n for n in lengths])
    return _TAG.findall(show), _TAG.findall(diff)


def fuzz_review_page(data: bytes) -> None:
    """The review page renderer: any text in any free-text place stays text.

    The input is split at NULs into an agent name, a spec path, a generator
    version and name, a line's text and its speaker (keys and ids are
    pattern-checked by the plan model and the source reader). The pages must hold
    exactly the tags of the same pages with those strings replaced by
    harmless letters, and their inline data must parse back to JSON.
    """
    text = data.decode("utf-8", "replace")
    # "q" first: never empty, and never equal to the golden value it replaces (which would
    # make one page differ from the other in what changed, not in how text is written).
    fields = ["q" + field for field in (text.split("\x00") + [""] * 6)[:6]]
    neutral = ["x" * len(field) for field in fields]
    pages = _review_pages(fields)
    expected = _neutral_tags(tuple(len(field) for field in neutral))
    for page, reference in zip(pages, expected, strict=True):
        if _TAG.findall(page) != reference:
            raise AssertionError("text from the input changed the page's markup")
        found = _PAGE_DATA.search(page)
        if found is None:
            raise AssertionError("the page's data element is missing or was cut short")
        json.loads(found.group(1))


_RUN_DIR_MODES = ("plain", "symlinked-output", "fifo-output", "symlinked-outputs")
_RUN_DIR_UNITS: list[Unit] = []
_RUN_DIR_PLAN: list[PlanUnits] = []


def _golden_units() -> list[Unit]:
    """Every unit of the golden plan (compiled once per process)."""
    if not _RUN_DIR_UNITS:
        folder = _SCRATCH / "run-dir-plan"
        folder.mkdir(exist_ok=True)
        (folder / "script.jsonl").write_bytes((GOLDEN / "script.jsonl").read_bytes())
        plan = folder / "golden.plan.json"
        plan.write_bytes(golden_plan())
        verified = load_verified_plan(plan)
        _RUN_DIR_PLAN.append(PlanUnits(verified.plan.phases, verified.shards, verified.start_ids))
        for index, phase in enumerate(verified.plan.phases):
            _RUN_DIR_UNITS.extend(
                iter_phase_units(index, phase, verified.shards[index], verified.start_ids)
            )
    return _RUN_DIR_UNITS


def _fake_output(unit: Unit) -> bytes:
    return f'{{"unit":"{unit.unit_id}"}}\n'.encode()


def _fake_ranges() -> dict[str, int]:
    """Each unit's offset in its segment, the fake outputs appended in plan order."""
    sizes: dict[str, int] = {}
    offsets: dict[str, int] = {}
    for unit in _golden_units():
        offsets[unit.unit_id] = sizes.get(unit.segment, 0)
        sizes[unit.segment] = offsets[unit.unit_id] + len(_fake_output(unit))
    return offsets


def run_dir_journal() -> bytes:
    """A valid journal of the fake outputs every fuzzed run directory holds (the seed)."""
    offsets = _fake_ranges()
    records = [
        JournalRecord(
            id=unit.unit_id,
            sha256=unit.sha256,
            output=unit.segment,
            offset=offsets[unit.unit_id],
            length=len(_fake_output(unit)),
            output_sha256=sha256_bytes(_fake_output(unit)),
            records=1,
            fingerprint=UnitFingerprint(
                language=unit.language, handler="pseudo", inputs_sha256="0" * 64
            ),
        )
        for unit in _golden_units()
    ]
    return b"".join(record.model_dump_json().encode() + b"\n" for record in records)


def _run_dir(mode: str) -> Path:
    """A run directory with every unit's fake output, spoiled as `mode` says (made once)."""
    root = _SCRATCH / f"run-{mode}"
    if root.exists():
        return root
    units = _golden_units()
    (root / "outputs").mkdir(parents=True, exist_ok=True)
    for unit in units:  # appended in plan order, as `_fake_ranges` says
        with (root / unit.segment).open("ab") as segment:
            segment.write(_fake_output(unit))
    first = root / units[0].segment
    if mode == "symlinked-output":
        outside = _file("outside.jsonl", first.read_bytes())
        first.unlink()
        first.symlink_to(outside)
    elif mode == "fifo-output":
        first.unlink()
        os.mkfifo(first)
    elif mode == "symlinked-outputs":
        os.rename(root / "outputs", _SCRATCH / "outside-outputs")
        (root / "outputs").symlink_to(_SCRATCH / "outside-outputs")
    return root


def fuzz_run_dir(data: bytes) -> None:
    """The `--reuse` reader: any journal bytes over a run directory, maybe with a symlink or FIFO.

    The first byte picks how the directory is spoiled; the rest is its
    journal. Every unit whose record the reader accepts is then looked up with
    that record's own fingerprint, so every output path is tried. A unit may
    be reused only with its own output path and bytes that match the record.
    """
    mode = _RUN_DIR_MODES[data[0] % len(_RUN_DIR_MODES)] if data else "plain"
    root = _run_dir(mode)
    (root / "journal.jsonl").write_bytes(data[1:])
    units = _golden_units()
    try:
        sources = ReuseSources.open([root], lambda text: None, _RUN_DIR_PLAN[0])
    except ReuseSourceError:
        return
    records: dict[str, JournalRecord] = {}
    """The journal as one model a line reads it: the last valid record of each id."""
    for line in data[1:].split(b"\n")[:-1]:
        if len(line) <= MAX_LINE_BYTES:
            with contextlib.suppress(ValueError, RecursionError):
                valid = JournalRecord.model_validate_json(line)
                records[valid.id] = valid
    try:
        for unit in units:
            record = records.get(unit.unit_id)
            if record is None or record.fingerprint is None:
                continue
            decision = sources.decide(unit, record.fingerprint.handler, record.fingerprint)
            if isinstance(decision, Reused):
                if sha256_bytes(decision.output) != record.output_sha256:
                    raise AssertionError(f"{unit.unit_id}: reused bytes that fail the checksum")
                if record.output not in (None, unit.segment):
                    raise AssertionError(f"{unit.unit_id}: reused from {record.output!r}")
                through = mode == "symlinked-outputs" or unit.segment == _golden_units()[0].segment
                if mode != "plain" and decision.output and through:
                    raise AssertionError(f"{unit.unit_id}: read through a {mode}")
    finally:
        sources.close()


def selftest_crash(data: bytes) -> None:
    """Not a real target: proves the harness reports a raising target (see test_fuzz)."""
    if b"boom" in data:
        raise ValueError("boom")


HARNESS_TARGETS: dict[str, Target] = {"selftest_crash": selftest_crash}
"""Run by name like the others, but not part of `TARGETS`."""

TARGETS: dict[str, Target] = {
    "spec": fuzz_spec,
    "source_jsonl": fuzz_source_jsonl,
    "source_csv": fuzz_source_csv,
    "source_txt": fuzz_source_txt,
    "plan": fuzz_plan,
    "diff_reasons": fuzz_diff_reasons,
    "rentl": fuzz_rentl,
    "review_page": fuzz_review_page,
    "run_dir": fuzz_run_dir,
}
