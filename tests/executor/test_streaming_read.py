"""The streaming readers agree with the plain ones: the compiler's plan layout, JSONL quirks."""

from __future__ import annotations

import codecs
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from shardplan_executor.source_index import LazyLines, scan_source
from shardplan_executor.verify import PlanRefusedError, load_verified_plan
from shardplan_schemas.canonical import compute_plan_id
from shardplan_schemas.source_formats import read_source_lines

from .helpers import run_in_process
from .plan_factory import PIPELINE, build_plan, make_lines

OUT = ("-o", "golden.plan.json")
GOLDEN = Path(__file__).resolve().parents[2] / "examples" / "golden"


def _compiled_golden(directory: Path) -> Path:
    for name in ("golden.shardplan.yaml", "script.jsonl"):
        (directory / name).write_bytes((GOLDEN / name).read_bytes())
    result = subprocess.run(
        [sys.executable, "-m", "shardplan_compiler", "compile", "golden.shardplan.yaml", *OUT],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return directory / "golden.plan.json"


def test_a_forged_shard_in_the_compilers_layout_is_refused(tmp_path: Path) -> None:
    """The layout is read a phase at a time; the verdict is the one of a whole-file read."""
    plan = _compiled_golden(tmp_path)
    text = plan.read_text(encoding="utf-8")
    verified = load_verified_plan(plan)  # the untouched plan is fine
    verified.source.close()
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith('{"end":') and ":" in line)
    shard = json.loads(lines[at].rstrip(","))
    forged = {**shard, "end": shard["end"] + 1}
    lines[at] = json.dumps(forged, sort_keys=True, separators=(",", ":")) + (
        "," if lines[at].endswith(",") else ""
    )
    edited = "\n".join(lines) + "\n"
    content = json.loads(edited)
    edited = edited.replace(content["plan_id"], compute_plan_id(content))
    plan.write_text(edited, encoding="utf-8")
    with pytest.raises(PlanRefusedError) as refusal:
        load_verified_plan(plan)
    assert f"shard {shard['key']} covers [{shard['start']}, {shard['end'] + 1})" in (
        refusal.value.message
    )


def test_jsonl_quirks_read_as_the_compiler_reads_them(tmp_path: Path) -> None:
    """A byte order mark, CRLF line ends, blank lines and no final newline."""
    lines = make_lines(9)
    records = [line.model_dump_json(exclude_unset=True) for line in lines]
    body = "\r\n".join(records[:4]) + "\r\n\r\n   \n" + "\n".join(records[4:])
    source = tmp_path / "quirky.jsonl"
    source.write_bytes(codecs.BOM_UTF8 + body.encode("utf-8"))
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    scanned = scan_source(source, "jsonl", digest, [0, 4, 8])
    assert not isinstance(scanned, str)
    assert scanned.ids_at == {0: "line_1", 4: "line_5", 8: "line_9"}
    assert list(LazyLines(scanned.source, 0, 9)) == read_source_lines(source, "jsonl") == lines
    assert LazyLines(scanned.source, 2, 7)[1:3] == lines[3:5]
    assert LazyLines(scanned.source, 2, 7)[-1] == lines[6]
    scanned.source.close()


def test_a_quirky_source_runs_the_same_as_a_plain_one(tmp_path: Path) -> None:
    plain = build_plan(tmp_path / "plain", make_lines(12), list(PIPELINE))
    quirky = build_plan(tmp_path / "quirky", make_lines(12), list(PIPELINE))
    source = quirky.parent / "script.jsonl"
    source.write_bytes(codecs.BOM_UTF8 + source.read_bytes().replace(b"\n", b"\r\n\n"))
    content = json.loads(quirky.read_text(encoding="utf-8"))
    content["source"]["sha256"] = hashlib.sha256(source.read_bytes()).hexdigest()
    content["plan_id"] = compute_plan_id(content)
    quirky.write_text(json.dumps(content), encoding="utf-8")
    for plan in (plain, quirky):
        assert run_in_process(plan, "echo_handler", plan.parent / "run").code == 0
    for name in ("en", "fr"):
        assert (plain.parent / "run" / "export" / f"{name}.jsonl").read_bytes() == (
            quirky.parent / "run" / "export" / f"{name}.jsonl"
        ).read_bytes()
