"""Plans: byte-for-byte golden fixture, determinism, plan_id, fingerprint locality (DESIGN §5)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shardplan_compiler.plan_io import PlanError, load_plan, parse_plan, write_plan_bytes
from shardplan_schemas.canonical import canonical_json

from .helpers import GOLDEN_PLAN, GOLDEN_SPEC, compile_spec_file, lines, write_jsonl, write_spec


def test_golden_plan_is_byte_for_byte_the_fixture() -> None:
    """The checked-in plan of examples/golden, compiled with tests/compile as the plan directory.

    After an intended change, regenerate it from the repository root with
    `shardplan compile examples/golden/golden.shardplan.yaml -o tests/compile/golden.plan.json`
    and review its diff.
    """
    result = compile_spec_file(GOLDEN_SPEC, plan_dir=GOLDEN_PLAN.parent)
    assert result.diagnostics == []
    assert result.to_bytes() == GOLDEN_PLAN.read_bytes()


def test_plan_id_is_recomputable_with_the_standard_library() -> None:
    data = json.loads(GOLDEN_PLAN.read_text(encoding="utf-8"))
    plan_id = data.pop("plan_id")
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert plan_id == "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_every_shard_is_one_line_of_canonical_json() -> None:
    text = GOLDEN_PLAN.read_text(encoding="utf-8")
    plan = load_plan(GOLDEN_PLAN)
    shard_lines = [line.strip().rstrip(",") for line in text.splitlines() if '"key":' in line]
    shards = [shard for phase in plan.phases for shard in phase.shards]
    assert shard_lines == [canonical_json(s.model_dump(mode="json")).decode() for s in shards]
    assert write_plan_bytes(plan) == GOLDEN_PLAN.read_bytes()


def test_golden_plan_shape() -> None:
    plan = load_plan(GOLDEN_PLAN)
    by_phase = {phase.phase: phase for phase in plan.phases}
    assert [p.phase for p in plan.phases] == [
        "ingest", "context", "pretranslation", "translate", "qa", "edit", "export",
    ]  # fmt: skip
    assert by_phase["edit"].enabled is False
    assert by_phase["edit"].shards == []
    assert by_phase["translate"].target_languages == ["en", "fr"]
    assert by_phase["context"].target_languages is None
    assert by_phase["translate"].execution.max_parallel_agents == 2
    assert plan.run_policy.backoff_ms == 1000
    for phase in plan.phases:
        assert phase.shard_count == len(phase.shards)
        position = 0
        for shard in phase.shards:
            assert shard.start == position
            assert shard.key == f"{phase.phase}:{shard.first_line_id}"
            position = shard.end
        assert position in (0, plan.source.line_count)


def test_same_inputs_same_bytes_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "project"
    shutil.copytree(GOLDEN_SPEC.parent, work)
    spec = work / GOLDEN_SPEC.name
    outputs = []
    for cwd in (tmp_path, work, Path("/")):
        monkeypatch.chdir(cwd)
        outputs.append(compile_spec_file(spec, plan_dir=work / "plans").to_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    assert b'"path": "../golden.shardplan.yaml"' in outputs[0]
    assert str(tmp_path).encode() not in outputs[0]


def test_reformatting_and_reordering_the_yaml_changes_no_byte_of_phases(tmp_path: Path) -> None:
    shutil.copy(GOLDEN_SPEC.parent / "script.jsonl", tmp_path / "script.jsonl")
    original = tmp_path / "a.shardplan.yaml"
    shutil.copy(GOLDEN_SPEC, original)
    reordered = tmp_path / "b.shardplan.yaml"
    reordered.write_text(
        """# reordered, reformatted, flow style turned into block style
phases:
  - phase: ingest
  - agents: [scene_summarizer]
    execution:
      scene_batch_size: 2
      strategy: scene
    phase: context
  - {phase: pretranslation, execution: {chunk_size: 25, strategy: chunk}, agents: [idiom_labeler]}
  - execution: {max_parallel_agents: 2, route_batch_size: 1, strategy: route}
    phase: translate
    agents:
      - direct_translator
  - phase: qa
    execution: {strategy: full}
    agents: [style_guide_critic]
  - {phase: edit, agents: [basic_editor], enabled: false}
  - phase: export
retry: {backoff_s: 1.0, max_retries: 2}
concurrency: {max_consecutive_failures: 3, max_parallel_agents: 8}
languages: {target_languages: [en, fr], source_language: ja}
source: {format: jsonl, path: script.jsonl}
project: golden-sample
version: 1
""",
        encoding="utf-8",
    )
    a = json.loads(compile_spec_file(original).to_bytes())
    b = json.loads(compile_spec_file(reordered).to_bytes())
    assert a["spec"]["sha256"] != b["spec"]["sha256"]
    a_text = compile_spec_file(original).to_bytes()
    b_text = compile_spec_file(reordered).to_bytes()
    assert a_text[a_text.index(b'"phases"') :] == b_text[b_text.index(b'"phases"') :]


def _shas(plan_bytes: bytes) -> dict[str, str]:
    plan = json.loads(plan_bytes)
    return {s["key"]: s["sha256"] for p in plan["phases"] for s in p["shards"]}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    scenes=st.lists(st.sampled_from(["scene_1", "scene_2", "scene_3"]), min_size=1, max_size=25),
    edit=st.integers(min_value=0, max_value=24),
)
def test_editing_one_line_changes_exactly_the_shards_holding_it(
    tmp_path: Path, scenes: list[str], edit: int
) -> None:
    edit %= len(scenes)
    directory = Path(tempfile.mkdtemp(dir=tmp_path))
    records = lines(len(scenes), scenes)
    write_jsonl(directory / "s.jsonl", records)
    spec = write_spec(directory, "s.jsonl")
    before = compile_spec_file(spec).to_bytes()
    records[edit]["text"] = "edited"
    write_jsonl(directory / "s.jsonl", records)
    after = compile_spec_file(spec).to_bytes()
    assert before != after  # any content change changes plan_id
    assert json.loads(before)["plan_id"] != json.loads(after)["plan_id"]
    old, new = _shas(before), _shas(after)
    assert old.keys() == new.keys()
    plan = json.loads(after)
    holding = {
        s["key"] for p in plan["phases"] for s in p["shards"] if s["start"] <= edit < s["end"]
    }
    changed = {key for key in old if old[key] != new[key]}
    assert changed == holding
    enabled = [p for p in plan["phases"] if p["enabled"]]
    assert len(holding) == len(enabled)  # exactly one shard per enabled phase


def test_cap_is_not_part_of_the_fingerprint(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "s.jsonl", lines(12, ["scene_1"] * 6 + ["scene_2"] * 6))
    phases_a = (
        "  - phase: translate\n    agents: [t]\n    execution: {strategy: chunk, chunk_size: 4}\n"
    )
    phases_b = phases_a.replace("chunk_size: 4}", "chunk_size: 4, max_parallel_agents: 1}")
    a = compile_spec_file(write_spec(tmp_path, "s.jsonl", phases_a, "a")).to_bytes()
    b = compile_spec_file(write_spec(tmp_path, "s.jsonl", phases_b, "b")).to_bytes()
    assert _shas(a) == _shas(b)
    c = compile_spec_file(
        write_spec(tmp_path, "s.jsonl", phases_a.replace("[t]", "[u]"), "c")
    ).to_bytes()
    assert set(_shas(a).values()).isdisjoint(_shas(c).values())


def test_no_lines_gives_zero_shards_everywhere(tmp_path: Path) -> None:
    (tmp_path / "s.jsonl").write_text("", encoding="utf-8")
    result = compile_spec_file(write_spec(tmp_path, "s.jsonl"))
    assert result.plan is not None
    assert all(phase.shards == [] for phase in result.plan.phases)


def test_tampered_plan_is_refused(tmp_path: Path) -> None:
    data = GOLDEN_PLAN.read_bytes().replace(b'"end":31,', b'"end":30,', 1)
    with pytest.raises(PlanError) as raised:
        parse_plan(data, tmp_path / "x.plan.json")
    assert raised.value.diagnostic.code == "SP603"
    with pytest.raises(PlanError) as raised:
        parse_plan(b"{not json", tmp_path / "x.plan.json")
    assert raised.value.diagnostic.code == "SP601"
    with pytest.raises(PlanError) as raised:
        parse_plan(b'{"format": "shardplan/1"}', tmp_path / "x.plan.json")
    assert raised.value.diagnostic.code == "SP602"


def test_paths_are_relative_with_slashes(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    write_jsonl(tmp_path / "data" / "s.jsonl", lines(3))
    spec = write_spec(tmp_path, "data/s.jsonl")
    plan = json.loads(compile_spec_file(spec, plan_dir=tmp_path / "out" / "plans").to_bytes())
    assert plan["spec"]["path"] == "../../t.shardplan.yaml"
    assert plan["source"]["path"] == "../../data/s.jsonl"
    assert os.sep not in plan["source"]["path"] or os.sep == "/"


def test_fingerprint_recomputes_as_documented() -> None:
    """docs/plan-format.md's recipe gives the golden plan's shard fingerprints."""
    plan = json.loads(GOLDEN_PLAN.read_text(encoding="utf-8"))
    raw_lines = (GOLDEN_PLAN.parent / plan["source"]["path"]).read_bytes().splitlines()
    for phase in plan["phases"]:
        execution = phase["execution"]
        header = json.dumps(
            {
                "phase": phase["phase"],
                "agents": phase["agents"],
                "strategy": execution["strategy"],
                "chunk_size": execution["chunk_size"],
                "scene_batch_size": execution["scene_batch_size"],
                "route_batch_size": execution["route_batch_size"],
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode("utf-8")
        for shard in phase["shards"]:
            hasher = hashlib.sha256(header + b"\n")
            for raw in raw_lines[shard["start"] : shard["end"]]:
                hasher.update(hashlib.sha256(raw.rstrip(b"\r\n")).digest())
            assert hasher.digest()[:16].hex() == shard["sha256"]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(scenes=st.lists(st.sampled_from(["scene_1", "scene_2", None]), min_size=1, max_size=30))
def test_keys_name_the_source_line_at_each_shard_start(
    tmp_path: Path, scenes: list[str | None]
) -> None:
    directory = Path(tempfile.mkdtemp(dir=tmp_path))
    records = lines(len(scenes), scenes)
    write_jsonl(directory / "s.jsonl", records)
    plan = compile_spec_file(write_spec(directory, "s.jsonl")).plan
    assert plan is not None
    for phase in plan.phases:
        for shard in phase.shards:
            assert shard.key == f"{phase.phase}:{records[shard.start]['line_id']}"
            assert set(shard.model_dump()) == {"key", "start", "end", "sha256"}


def test_rendering_in_worker_processes_gives_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big plans render their phases in forked workers; the bytes must not change."""
    import io

    from shardplan_compiler import plan_io

    monkeypatch.setattr(plan_io, "PARALLEL_MIN_SHARDS", 1)
    scenes = [f"scene_{1 + i // 7}" for i in range(3000)]
    write_jsonl(tmp_path / "s.jsonl", lines(len(scenes), scenes))
    result = compile_spec_file(write_spec(tmp_path, "s.jsonl"))
    alone = result.to_bytes()
    buffer = io.BytesIO()
    plan_id = result.write(buffer, workers=2)
    assert buffer.getvalue() == alone
    assert plan_id == json.loads(alone)["plan_id"]
    load_plan_bytes = parse_plan(alone, tmp_path / "p.plan.json")
    assert load_plan_bytes.plan_id == plan_id


def test_fingerprints_from_a_forked_child_give_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big plans share fingerprinting and rendering with a forked child; the bytes must not change."""
    import io

    from shardplan_compiler import plan_build

    scenes = [f"scene_{1 + i // 7}" for i in range(3000)]
    write_jsonl(tmp_path / "s.jsonl", lines(len(scenes), scenes))
    spec = write_spec(tmp_path, "s.jsonl")
    monkeypatch.setattr(plan_build, "FORK_MIN_SHARDS", 10**9)
    alone = compile_spec_file(spec).to_bytes()
    monkeypatch.setattr(plan_build, "FORK_MIN_SHARDS", 1)
    result = compile_spec_file(spec)
    assert result.to_bytes() == alone
    buffer = io.BytesIO()
    result.write(buffer)  # a second pass over the same document reads the child's files again
    assert buffer.getvalue() == alone


def test_shared_work_gives_each_piece_once_from_either_process() -> None:
    """The parent does the pieces it claims (None) and gets the child's bytes for the others."""
    import time

    from shardplan_compiler.two_ended import SharedWork

    shared = SharedWork(40, lambda index: f"piece {index}".encode())
    try:
        time.sleep(0.2)  # let the child take some pieces from the back
        first = [shared.take(index) for index in range(40)]
        again = [shared.take(index) for index in range(40)]  # as a two-pass writer does
    finally:
        shared.close()
    assert first == again
    for index, piece in enumerate(first):
        assert piece is None or piece == f"piece {index}".encode()
    mine = [index for index, piece in enumerate(first) if piece is None]
    assert mine == list(range(len(mine)))  # the parent's are a prefix: claimed from the front


def test_unseekable_output_gets_the_same_bytes(tmp_path: Path) -> None:
    class Pipe:
        def __init__(self) -> None:
            self.data = b""

        def seekable(self) -> bool:
            return False

        def write(self, chunk: bytes) -> int:
            self.data += chunk
            return len(chunk)

    result = compile_spec_file(GOLDEN_SPEC, plan_dir=GOLDEN_PLAN.parent)
    pipe = Pipe()
    result.write(pipe)  # type: ignore[arg-type]
    assert pipe.data == GOLDEN_PLAN.read_bytes()


def test_shard_fingerprint_function_matches_the_plan() -> None:
    """`fingerprint.shard_fingerprint` is the reference the plan builder's batched hashing follows."""
    from shardplan_compiler.fingerprint import fingerprint_header, shard_fingerprint
    from shardplan_compiler.sources import read_source

    plan = load_plan(GOLDEN_PLAN)
    table = read_source(GOLDEN_PLAN.parent / plan.source.path, "jsonl").table
    assert table is not None
    for phase in plan.phases:
        execution = phase.execution
        header = fingerprint_header(
            phase.phase,
            phase.agents,
            execution.strategy,
            execution.chunk_size,
            execution.scene_batch_size,
            execution.route_batch_size,
        )
        for shard in phase.shards:
            assert shard_fingerprint(header, table.digests, shard.start, shard.end) == shard.sha256


@settings(max_examples=200, deadline=None)
@given(
    st.binary(min_size=0, max_size=64),
    st.lists(st.binary(min_size=32, max_size=32), max_size=40),
    st.lists(st.integers(min_value=0, max_value=40), max_size=12),
)
def test_batched_fingerprints_match_one_at_a_time(
    header: bytes, lines: list[bytes], cuts: list[int]
) -> None:
    """`shard_fingerprints` (C-level maps) gives exactly `shard_fingerprint` per shard."""
    from shardplan_compiler.fingerprint import shard_fingerprint, shard_fingerprints

    digests = bytearray(b"".join(lines))
    bounds = sorted({0, len(lines), *(min(cut, len(lines)) for cut in cuts)})
    starts, ends = bounds[:-1], bounds[1:]
    expected = [shard_fingerprint(header, digests, a, b) for a, b in zip(starts, ends, strict=True)]
    assert shard_fingerprints(header, digests, starts, ends) == expected
    assert shard_fingerprints(header, bytes(digests), starts, ends) == expected


def test_a_truncated_plan_is_reported_where_the_json_stops() -> None:
    data = GOLDEN_PLAN.read_bytes()
    cut = data[: data.index(b'"shards": [') + 40]  # inside the first shard's line
    with pytest.raises(PlanError) as raised:
        parse_plan(cut, Path("cut.plan.json"))
    diagnostic = raised.value.diagnostic
    assert diagnostic.code == "SP601"
    assert diagnostic.line == cut.count(b"\n") + 1
    assert diagnostic.column == len(cut) - cut.rindex(b"\n") - 1
