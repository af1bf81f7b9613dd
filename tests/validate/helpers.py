"""Shared helpers: write a spec to a temporary file and load it."""

from __future__ import annotations

from pathlib import Path

from shardplan_compiler.spec_loading import LoadedSpec, load_spec

VALID = """\
version: 1
project: demo
source:
  path: script.jsonl
languages:
  source_language: ja
  target_languages: [en, fr]
phases:
  - phase: ingest
  - phase: translate
    agents: [direct_translator]
    execution: {strategy: chunk, chunk_size: 10}
  - phase: export
"""


def load_text(tmp_path: Path, text: str | bytes, name: str = "spec.shardplan.yaml") -> LoadedSpec:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return load_spec(path)


def found(loaded: LoadedSpec) -> list[tuple[str, int, int]]:
    return [(d.code, d.line, d.column) for d in loaded.diagnostics]
