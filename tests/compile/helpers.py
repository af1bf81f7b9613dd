"""Small builders for compile tests: a spec and a source in a temporary directory."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from shardplan_compiler.compile_spec import CompileResult, compile_loaded_spec
from shardplan_compiler.spec_loading import load_spec

REPO = Path(__file__).resolve().parents[2]
GOLDEN_SPEC = REPO / "examples" / "golden" / "golden.shardplan.yaml"
GOLDEN_SOURCE = REPO / "examples" / "golden" / "script.jsonl"
GOLDEN_PLAN = Path(__file__).resolve().parent / "golden.plan.json"

SPEC_TEMPLATE = """\
version: 1
project: test
source:
  path: {source}
languages:
  source_language: ja
  target_languages: [en, fr]
phases:
{phases}
"""

ALL_PHASES = """\
  - phase: ingest
  - phase: context
    agents: [scene_summarizer]
  - phase: pretranslation
    agents: [idiom_labeler]
    execution: {strategy: chunk, chunk_size: 3}
  - phase: translate
    agents: [direct_translator]
    execution: {strategy: scene, scene_batch_size: 2}
  - phase: qa
    agents: [style_guide_critic]
  - phase: edit
    enabled: false
    agents: [basic_editor]
  - phase: export
"""


def write_jsonl(path: Path, records: Sequence[dict[str, object]]) -> Path:
    path.write_text(
        "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records),
        encoding="utf-8",
    )
    return path


def write_spec(directory: Path, source: str, phases: str = ALL_PHASES, name: str = "t") -> Path:
    spec = directory / f"{name}.shardplan.yaml"
    spec.write_text(SPEC_TEMPLATE.format(source=source, phases=phases), encoding="utf-8")
    return spec


def compile_spec_file(
    spec: Path, plan_dir: Path | None = None, source: Path | None = None
) -> CompileResult:
    loaded = load_spec(spec)
    assert not loaded.has_errors, loaded.diagnostics
    return compile_loaded_spec(loaded, source, plan_dir if plan_dir is not None else spec.parent)


def lines(count: int, scenes: Sequence[str | None] | None = None) -> list[dict[str, object]]:
    records: list[dict[str, object]] = []
    for index in range(count):
        record: dict[str, object] = {"line_id": f"line_{index + 1}", "text": f"text {index + 1}"}
        if scenes is not None and scenes[index] is not None:
            record["scene_id"] = scenes[index]
        record["route_id"] = "common_0"
        records.append(record)
    return records
