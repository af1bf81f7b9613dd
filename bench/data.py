"""Inputs for the benchmarks, generated at run time under a temporary directory.

Nothing here is committed: 300 specs and a million-line script are cheap to
make (a few seconds) and would bloat the repository. Generation is seeded, so
every run measures the same bytes and two machines measure the same work.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shardplan_schemas.primitives import LLM_PHASES, PHASE_ORDER, PhaseName

# Codes YAML 1.1 would not read as booleans (no `no`, `on`, `yes`).
_LANGUAGES: tuple[str, ...] = (
    "en", "fr", "de", "es", "it", "pt-BR", "pt-PT", "zh-CN", "zh-TW", "ko", "ru",
    "pl", "nl", "sv", "vi", "th", "id", "tr", "uk", "cs", "ar", "he", "fi", "da",
)  # fmt: skip
_SOURCE_LANGUAGES: tuple[str, ...] = ("ja", "ko", "zh-CN", "en")
_AGENTS: dict[PhaseName, tuple[str, ...]] = {
    "context": ("scene_summarizer", "character_tracker", "glossary_builder", "lore_indexer"),
    "pretranslation": ("idiom_labeler", "honorific_tagger", "term_extractor", "tone_marker"),
    "translate": ("direct_translator", "literary_translator", "dialogue_translator"),
    "qa": ("style_guide_critic", "consistency_checker", "length_checker", "glossary_checker"),
    "edit": ("basic_editor", "copy_editor", "line_polisher"),
}
_PROJECT_WORDS: tuple[str, ...] = (
    "sakura", "autumn", "lighthouse", "festival", "moonlit", "academy", "rain", "harbor",
    "summer", "echo", "garden", "starfall", "winter", "clockwork", "ribbon", "ember",
)  # fmt: skip
_FORMATS: tuple[tuple[str, str | None], ...] = (
    ("script.jsonl", "jsonl"),
    ("script.jsonl", None),
    ("lines.csv", "csv"),
    ("data/script.csv", None),
    ("raw/script.txt", "txt"),
)


def _yaml_list(key: str, items: Sequence[str], flow: bool, indent: str) -> str:
    """`key: [a, b]` or a block list under `key:`; `indent` is the key's indentation."""
    if flow:
        return f"{indent}{key}: [" + ", ".join(items) + "]"
    return f"{indent}{key}:" + "".join(f"\n{indent}  - {item}" for item in items)


def _execution_lines(rng: random.Random, indent: str) -> list[str]:
    """A random valid `execution` block (DESIGN §2 strategy rules), flow or block style."""
    strategy = rng.choice(("full", "scene", "chunk", "route"))
    fields: list[tuple[str, str]] = [("strategy", strategy)]
    if strategy == "chunk":
        fields.append(("chunk_size", str(rng.choice((1, 5, 10, 25, 50, 100, 500)))))
    elif strategy == "scene" and rng.random() < 0.7:
        fields.append(("scene_batch_size", str(rng.randint(1, 8))))
    elif strategy == "route" and rng.random() < 0.7:
        fields.append(("route_batch_size", str(rng.randint(1, 3))))
    if rng.random() < 0.5:
        fields.append(("max_parallel_agents", str(rng.choice((1, 2, 4, 8, 16, 32)))))
    if rng.random() < 0.5:
        body = ", ".join(f"{key}: {value}" for key, value in fields)
        return [f"{indent}execution: {{{body}}}"]
    return [f"{indent}execution:"] + [f"{indent}  {key}: {value}" for key, value in fields]


def spec_text(rng: random.Random, index: int) -> str:
    """One valid pipeline spec; the random choices cover every section and both YAML styles."""
    lines: list[str] = []
    if rng.random() < 0.6:
        lines.append("# yaml-language-server: $schema=../generated/pipeline-spec.schema.json")
    if rng.random() < 0.4:
        lines.append(f"# Generated benchmark spec number {index}.")
    words = rng.sample(_PROJECT_WORDS, rng.randint(1, 3))
    lines += ["version: 1", f"project: {'-'.join(words)}-{index:03d}"]
    path, fmt = rng.choice(_FORMATS)
    lines += ["source:", f"  path: {path}"]
    if fmt is not None:
        lines.append(f"  format: {fmt}")
    source_language = rng.choice(_SOURCE_LANGUAGES)
    targets = rng.sample(
        [code for code in _LANGUAGES if code != source_language], rng.randint(1, 6)
    )
    lines += [
        "languages:",
        f"  source_language: {source_language}",
        _yaml_list("target_languages", targets, rng.random() < 0.6, "  "),
    ]
    if rng.random() < 0.7:
        lines.append("concurrency:")
        lines.append(f"  max_parallel_agents: {rng.choice((1, 2, 4, 8, 16, 64))}")
        if rng.random() < 0.5:
            lines.append(f"  max_consecutive_failures: {rng.randint(1, 10)}")
    if rng.random() < 0.6:
        lines.append("retry:")
        lines.append(f"  max_retries: {rng.randint(0, 5)}")
        if rng.random() < 0.7:
            lines.append(f"  backoff_s: {rng.choice(('0.5', '1.0', '2.5', '0.25'))}")
        if rng.random() < 0.3:
            lines.append(f"  max_backoff_s: {rng.choice(('30.0', '60.0', '120.0'))}")
    chosen = [phase for phase in PHASE_ORDER if rng.random() < 0.75] or ["translate"]
    lines.append("phases:")
    for phase in chosen:
        lines.append(f"  - phase: {phase}")
        if phase in LLM_PHASES:
            if rng.random() < 0.15:
                lines.append("    enabled: false")
            agents = rng.sample(_AGENTS[phase], rng.randint(1, len(_AGENTS[phase])))
            lines.append(_yaml_list("agents", agents, rng.random() < 0.6, "    "))
            if rng.random() < 0.8:
                lines += _execution_lines(rng, "    ")
    return "\n".join(lines) + "\n"


def write_specs(directory: Path, count: int, seed: int = 2026) -> list[Path]:
    """Write `count` varied valid specs named `spec_NNN.shardplan.yaml`; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths: list[Path] = []
    for index in range(count):
        path = directory / f"spec_{index:03d}.shardplan.yaml"
        path.write_text(spec_text(rng, index), encoding="utf-8")
        paths.append(path)
    return paths


_TEXT_FRAGMENTS: tuple[str, ...] = (
    "春の朝、桜の花びらが風に舞う学園の門。",
    "「あの、すみません！」",
    "振り向くと、見知らぬ少女が息を切らせて立っていた。",
    "「今日から転校してきたんです。職員室はどこですか？」",
    "窓の外では、夕立が静かに街を濡らしていた。",
    "「……約束、覚えてる？」",
    "彼女は小さく笑って、手の中の鍵を見せた。",
    "灯台の光が、遠い海の上をゆっくりと回っている。",
    "「ばか。そんなこと、言わなくてもわかってるよ」",
    "祭りの太鼓の音が、夜の空気を震わせる。",
    "時計の針が止まったまま、部屋は静まり返っていた。",
    "「もう一度だけ、信じてみてもいいかな」",
)
_SPEAKERS: tuple[str, ...] = ("???", "Akari", "Haruto", "Sensei", "Mio", "Ren")
_ROUTE_NAMES: tuple[str, ...] = ("akari", "mio", "ren", "true")


@dataclass(frozen=True)
class ScriptStats:
    """What a generated script holds, for the report."""

    lines: int
    scenes: int
    routes: int
    size_bytes: int


def write_script(path: Path, line_count: int, seed: int = 7) -> ScriptStats:
    """Write a JSONL script of `line_count` valid `SourceLine`s with scene and route ids.

    Scenes are 5-60 consecutive lines; routes are contiguous runs of scenes
    (a common route, then chapters of character routes), each id used once,
    so every strategy applies and compile reports no warnings.
    """
    rng = random.Random(seed)
    texts = [json.dumps(text, ensure_ascii=False) for text in _TEXT_FRAGMENTS]
    speakers = [json.dumps(speaker, ensure_ascii=False) for speaker in _SPEAKERS]
    path.parent.mkdir(parents=True, exist_ok=True)
    scene = 0
    route_serial = 0
    route_id = "common_0"
    scenes_left_in_route = rng.randint(20, 300)
    written = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        while written < line_count:
            scene += 1
            scenes_left_in_route -= 1
            if scenes_left_in_route < 0:
                route_serial += 1
                route_id = f"{rng.choice(_ROUTE_NAMES)}_{route_serial}"
                scenes_left_in_route = rng.randint(20, 300)
            scene_id = f"scene_{scene:06d}"
            size = min(rng.randint(5, 60), line_count - written)
            chunk: list[str] = []
            for n in range(1, size + 1):
                dialogue = rng.random() < 0.55
                speaker = f',"speaker":{rng.choice(speakers)}' if dialogue else ""
                dialogue_flag = "true" if dialogue else "false"
                chunk.append(
                    f'{{"line_id":"{scene_id}_{n:04d}","route_id":"{route_id}",'
                    f'"scene_id":"{scene_id}"{speaker},"text":{rng.choice(texts)},'
                    f'"metadata":{{"is_choice":false,"is_dialogue":{dialogue_flag}}}}}\n'
                )
            out.write("".join(chunk))
            written += size
    return ScriptStats(
        lines=written, scenes=scene, routes=route_serial + 1, size_bytes=path.stat().st_size
    )


DEFAULTS_SPEC = """\
# The compile benchmark as a user gets it: all seven phases, two target languages,
# no execution tables, so every phase runs on rentl's defaults (ingest and export
# full, context scene batch 1, pretranslation/translate/qa/edit chunks of 10).
version: 1
project: bench-compile-defaults
source:
  path: {source}
  format: jsonl
languages:
  source_language: ja
  target_languages: [en, fr]
concurrency:
  max_parallel_agents: 8
phases:
  - phase: ingest
  - phase: context
    agents: [scene_summarizer]
  - phase: pretranslation
    agents: [idiom_labeler]
  - phase: translate
    agents: [direct_translator]
  - phase: qa
    agents: [style_guide_critic]
  - phase: edit
    agents: [basic_editor]
  - phase: export
"""

COMPILE_SPEC = """\
# The compile benchmark's second case: all seven phases, two target languages, four strategies.
version: 1
project: bench-compile
source:
  path: {source}
  format: jsonl
languages:
  source_language: ja
  target_languages: [en, fr]
concurrency:
  max_parallel_agents: 8
phases:
  - phase: ingest
  - phase: context
    agents: [scene_summarizer]
    execution: {{strategy: scene, scene_batch_size: 2}}
  - phase: pretranslation
    agents: [idiom_labeler]
    execution: {{strategy: chunk, chunk_size: 50}}
  - phase: translate
    agents: [direct_translator]
    execution: {{strategy: route, route_batch_size: 1, max_parallel_agents: 4}}
  - phase: qa
    agents: [style_guide_critic]
    execution: {{strategy: chunk, chunk_size: 100}}
  - phase: edit
    agents: [basic_editor]
    execution: {{strategy: scene, scene_batch_size: 5}}
  - phase: export
"""

EXECUTOR_SPEC = """\
# The executor benchmark: one phase, one unit of work per line.
version: 1
project: bench-executor
source:
  path: {source}
  format: jsonl
languages:
  source_language: ja
  target_languages: [en]
concurrency:
  max_parallel_agents: {cap}
phases:
  - phase: translate
    agents: [noop]
    execution: {{strategy: chunk, chunk_size: 1}}
"""


def write_compile_spec(directory: Path, source_name: str) -> Path:
    """The configured case's spec (`COMPILE_SPEC`), next to its source."""
    path = directory / "compile.shardplan.yaml"
    path.write_text(COMPILE_SPEC.format(source=source_name), encoding="utf-8")
    return path


def write_defaults_spec(directory: Path, source_name: str) -> Path:
    """The defaults case's spec (`DEFAULTS_SPEC`: no execution tables), next to its source."""
    path = directory / "defaults.shardplan.yaml"
    path.write_text(DEFAULTS_SPEC.format(source=source_name), encoding="utf-8")
    return path


def write_executor_spec(directory: Path, source_name: str, cap: int) -> Path:
    """The spec of the executor benchmark: `chunk_size: 1`, so units equal lines."""
    path = directory / "executor.shardplan.yaml"
    path.write_text(EXECUTOR_SPEC.format(source=source_name, cap=cap), encoding="utf-8")
    return path
