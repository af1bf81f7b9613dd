"""`python -m tests.browser.measure`: the review page's size and speed at 10k, 100k and 425k shards.

Each page shows a plan of a generated script (scenes of 1-40 lines): 10k and
100k shards are one chunk phase of `chunk_size: 1`; 425k is a million-line
script with the phases rentl's defaults give about that many shards. Prints
one line per size: shards, page bytes, CPU seconds to write the page
(`show --format html`, loading the plan and reading the source included),
seconds to load it in headless Chromium (navigation to the load event, which
waits for the page's script) and the script's own decode-and-draw time.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from .cdp import HOW_TO_GET, chromium_path, launch
from .pages import shardplan, write_script

RENTL_LIKE = """\
version: 1
project: review-page-425k
source:
  path: script.jsonl
languages:
  source_language: ja
  target_languages: [en]
phases:
  - phase: ingest
  - phase: context
    agents: [scene_summarizer]
    execution: {strategy: scene, scene_batch_size: 1}
  - phase: pretranslation
    agents: [idiom_labeler]
    execution: {strategy: chunk, chunk_size: 5}
  - phase: translate
    agents: [direct_translator]
    execution: {strategy: chunk, chunk_size: 10}
  - phase: qa
    agents: [style_guide_critic]
    execution: {strategy: chunk, chunk_size: 13}
"""
ONE_PHASE = """\
version: 1
project: review-page-scale
source:
  path: script.jsonl
languages:
  source_language: ja
  target_languages: [en]
phases:
  - phase: translate
    agents: [direct_translator]
    execution: {strategy: chunk, chunk_size: 1}
"""


def measure(directory: Path, lines: int, spec_text: str) -> tuple[int, int, float, float, float]:
    directory.mkdir(parents=True)
    write_script(directory / "script.jsonl", lines)
    spec = directory / "scale.shardplan.yaml"
    spec.write_text(spec_text, encoding="utf-8")
    plan = directory / "scale.plan.json"
    shardplan("compile", spec, "-o", plan)
    page = directory / "scale.plan.html"
    started = time.process_time()  # CPU time: wall time on a shared machine measures the others
    shardplan("show", plan, "--format", "html", "-o", page)
    written = time.process_time() - started
    chromium = chromium_path()
    assert chromium is not None, HOW_TO_GET
    with launch(chromium) as browser:
        loaded = browser.open(page, timeout=300)
        shards = browser.evaluate(
            "window.shardplanReview.phases.reduce((n, p) => n + p.lanes[0], 0)"
        )
        draw_ms = browser.evaluate("window.shardplanReview.renderMs")
    assert isinstance(shards, int)
    assert isinstance(draw_ms, int | float)
    return shards, page.stat().st_size, written, loaded, float(draw_ms) / 1000


def main() -> int:
    sizes = [(10_000, ONE_PHASE), (100_000, ONE_PHASE), (1_000_000, RENTL_LIKE)]
    wanted = {int(arg) for arg in sys.argv[1:]}
    print("shards   page bytes   write CPU s   load s   script s")
    with tempfile.TemporaryDirectory(prefix="shardplan-measure-") as work:
        for lines, spec in sizes:
            if wanted and lines not in wanted:
                continue
            shards, size, written, loaded, drawn = measure(Path(work) / str(lines), lines, spec)
            print(
                f"{shards:>7}  {size:>11}  {written:>8.2f}  {loaded:>7.2f}  {drawn:>9.2f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
