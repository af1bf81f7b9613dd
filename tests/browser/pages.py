"""Review pages to open in the browser: the golden example, its diff, big and hostile ones.

Each builder writes its inputs into a directory, compiles them with the real
CLI and returns the page's path. The golden diff is the README's picture: the
golden spec with smaller pretranslation chunks, and a script with one line
reworded and one line inserted.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Sequence
from pathlib import Path

from click.testing import CliRunner

from shardplan_compiler.cli import main

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "examples" / "golden"
GOLDEN_SPEC = (GOLDEN / "golden.shardplan.yaml").read_text(encoding="utf-8")
GOLDEN_LINES = (GOLDEN / "script.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
EDITED_LINE = 40
"""The golden line the diff rewords (scene_003_0009)."""
INSERT_AFTER = 10


def shardplan(*args: str | Path) -> str:
    """Run the CLI in-process; its standard output (fails on a non-zero exit)."""
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _golden_inputs(directory: Path, spec: str, lines: Sequence[str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "golden.shardplan.yaml").write_text(spec, encoding="utf-8")
    (directory / "script.jsonl").write_text("".join(lines), encoding="utf-8")
    return directory / "golden.shardplan.yaml"


def edited_lines(text: str | None = None, speaker: str | None = None) -> list[str]:
    """The golden script with line `EDITED_LINE` reworded and one line inserted."""
    lines = list(GOLDEN_LINES)
    record = json.loads(lines[EDITED_LINE])
    record["text"] = text if text is not None else record["text"] + "（改）"
    if speaker is not None:
        record["speaker"] = speaker
    lines[EDITED_LINE] = json.dumps(record, ensure_ascii=False) + "\n"
    inserted = json.loads(lines[INSERT_AFTER])
    inserted["line_id"] = inserted["line_id"] + "_1"
    inserted["text"] = "「待って！」"
    lines.insert(INSERT_AFTER + 1, json.dumps(inserted, ensure_ascii=False) + "\n")
    return lines


def golden_plan(directory: Path) -> Path:
    spec = _golden_inputs(directory, GOLDEN_SPEC, GOLDEN_LINES)
    plan = directory / "golden.plan.json"
    shardplan("compile", spec, "-o", plan)
    return plan


def golden_show_page(directory: Path) -> Path:
    plan = golden_plan(directory / "old")
    page = directory / "golden.plan.html"
    shardplan("show", plan, "--format", "html", "-o", page)
    return page


def golden_diff_page(directory: Path, text: str | None = None, speaker: str | None = None) -> Path:
    """The golden plan against chunk_size 25 → 20 and an edited, longer script."""
    old = golden_plan(directory / "old")
    new_spec = _golden_inputs(
        directory / "new",
        GOLDEN_SPEC.replace("chunk_size: 25", "chunk_size: 20"),
        edited_lines(text, speaker),
    )
    new = directory / "new" / "golden.plan.json"
    shardplan("compile", new_spec, "-o", new)
    page = directory / "golden.diff.html"
    shardplan("diff", old, new, "--format", "html", "-o", page)
    return page


SCALE_SPEC = """\
version: 1
project: review-page-scale
source:
  path: script.jsonl
languages:
  source_language: ja
  target_languages: [en]
phases:
  - phase: ingest
  - phase: context
    agents: [scene_summarizer]
    execution: {{strategy: scene, scene_batch_size: 2}}
  - phase: translate
    agents: [direct_translator]
    execution: {{strategy: chunk, chunk_size: {chunk}}}
"""


def write_script(path: Path, lines: int) -> None:
    """`lines` lines in scenes of 1-40 lines, 30 scenes a route (seeded: the same bytes each run)."""
    rng = random.Random(11)
    out: list[str] = []
    scene = 0
    while len(out) < lines:
        scene += 1
        size = min(rng.randint(1, 40), lines - len(out))
        out += [
            f'{{"line_id":"scene_{scene:06d}_{n:04d}","scene_id":"scene_{scene:06d}",'
            f'"route_id":"route_{scene // 30}","text":"line {n} of scene {scene}"}}\n'
            for n in range(1, size + 1)
        ]
    path.write_text("".join(out), encoding="utf-8")


def scale_plan(directory: Path, lines: int, chunk: int = 1) -> Path:
    """A script of `lines` lines whose translate phase has lines/chunk shards."""
    directory.mkdir(parents=True, exist_ok=True)
    write_script(directory / "script.jsonl", lines)
    spec = directory / "scale.shardplan.yaml"
    spec.write_text(SCALE_SPEC.format(chunk=chunk), encoding="utf-8")
    plan = directory / "scale.plan.json"
    shardplan("compile", spec, "-o", plan)
    return plan


def scale_show_page(directory: Path, lines: int) -> Path:
    plan = scale_plan(directory, lines)
    page = directory / "scale.plan.html"
    shardplan("show", plan, "--format", "html", "-o", page)
    return page


def without_source(page_dir: Path, plan: Path) -> Path:
    """A show page of `plan` copied where its source is not."""
    page_dir.mkdir(parents=True, exist_ok=True)
    moved = page_dir / plan.name
    shutil.copy2(plan, moved)
    page = page_dir / "nosource.plan.html"
    shardplan("show", moved, "--format", "html", "-o", page)
    return page
