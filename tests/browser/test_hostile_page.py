"""Issue 13.4: a review page of hostile input runs no script but its own and reads as written.

Paths and project-side strings are not pattern-checked (a file may be named
`"><img src=x onerror=…>.jsonl`), a plan's `plan_id` is a checksum anyone can
recompute (so its agents, spec path and generator are free text), and a
source line's text and speaker are anything. Every payload calls `alert`,
which the test replaces before the page loads: the count must stay zero,
with the page's Content-Security-Policy and without it (the escaping alone
must hold), and the hostile text must be on the page, as text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shardplan_schemas.canonical import compute_plan_id

from . import pages as make
from .cdp import Browser

HOSTILE_TEXT = (
    "</script><img src=x onerror=alert(1)><!-- \u2028 ]]> &amp; <script>alert(2)</script>"
)
HOSTILE_SPEAKER = '"><svg onload=alert(3)>'
HOSTILE_FILE = "x\"'><img src=x onerror=alert(4)>.jsonl"
HOSTILE_AGENT = "<img src=x onerror=alert(5)>"
HOSTILE_SPEC_PATH = "</script><script>alert(6)</script>.yaml"
HOSTILE_VERSION = "'\"><iframe srcdoc='<script>parent.alert(7)</script>'>"

COUNT_ALERTS = """
window.__alerts = 0;
window.alert = function () { window.__alerts += 1; };
"""


def _without_csp(page: Path) -> Path:
    html = page.read_text(encoding="utf-8")
    start = html.index('<meta http-equiv="Content-Security-Policy"')
    end = html.index(">", start) + 1
    bare = page.with_name(page.stem + ".nocsp.html")
    bare.write_text(html[:start] + html[end:], encoding="utf-8")
    return bare


def _check(browser: Browser, page: Path, expected_texts: list[str]) -> None:
    for candidate in (page, _without_csp(page)):
        browser.events.clear()
        browser.open(candidate)
        assert browser.evaluate("window.__alerts") == 0, f"{candidate.name} ran a payload"
        assert browser.evaluate("window.shardplanReview.ready") is True
        foreign = browser.evaluate(
            "document.querySelectorAll('img, svg, iframe, object, embed, link, base').length"
        )
        assert foreign == 0
        assert browser.evaluate("document.scripts.length") == 2  # the data and the page's script
        body = browser.evaluate("document.body.innerText")
        assert isinstance(body, str)
        for text in expected_texts:
            assert text in body, f"{text!r} does not read as written on {candidate.name}"
        assert browser.errors() == []
    # The policy itself: an inline script added after load is refused (and logged).
    browser.open(page)
    injected = browser.evaluate(
        "(() => { const s = document.createElement('script'); s.textContent = 'window.__inj = 1';"
        " document.body.appendChild(s); return window.__inj === undefined; })()"
    )
    assert injected is True
    browser.events.clear()


@pytest.fixture
def guarded(fresh: Browser) -> Browser:
    fresh.send("Page.addScriptToEvaluateOnNewDocument", {"source": COUNT_ALERTS})
    return fresh


def test_hostile_file_names_and_lines(guarded: Browser, pages: Path) -> None:
    directory = pages / "hostile"
    page = make.golden_diff_page(directory, text=HOSTILE_TEXT, speaker=HOSTILE_SPEAKER)
    _check(guarded, page, [])
    # The same diff with the sources behind hostile file names.
    for side in ("old", "new"):
        folder = directory / side
        (folder / "script.jsonl").rename(folder / HOSTILE_FILE)
        spec = folder / "golden.shardplan.yaml"
        spec.write_text(
            spec.read_text(encoding="utf-8").replace(
                "path: script.jsonl", "path: " + json.dumps(HOSTILE_FILE)
            ),
            encoding="utf-8",
        )
        make.shardplan("compile", spec, "-o", folder / "golden.plan.json")
    renamed = directory / "renamed.html"
    make.shardplan(
        "diff",
        directory / "old" / "golden.plan.json",
        directory / "new" / "golden.plan.json",
        "--format",
        "html",
        "-o",
        renamed,
    )
    _check(guarded, renamed, [HOSTILE_FILE])
    listed = renamed.read_text(encoding="utf-8")
    if '<span class="line-text">' in listed:  # the diff names the reworded line: its text shows
        body = guarded.evaluate("document.getElementById('dirty').innerText")
        assert isinstance(body, str)
        assert HOSTILE_TEXT.replace("\u2028", "\n")[:20] in body.replace("\u2028", "\n")
        assert HOSTILE_SPEAKER in body


def test_a_forged_plan_with_hostile_strings(guarded: Browser, pages: Path) -> None:
    plan_path = make.golden_plan(pages / "forged")
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    plan["spec"]["path"] = HOSTILE_SPEC_PATH
    plan["generator"]["version"] = HOSTILE_VERSION
    for phase in plan["phases"]:
        if phase["agents"]:
            phase["agents"] = [HOSTILE_AGENT]
    del plan["plan_id"]
    plan["plan_id"] = compute_plan_id(plan)
    plan_path.write_text(json.dumps(plan, ensure_ascii=False, indent=1), encoding="utf-8")
    page = pages / "forged" / "forged.html"
    make.shardplan("show", plan_path, "--format", "html", "-o", page)
    _check(guarded, page, [HOSTILE_SPEC_PATH, HOSTILE_AGENT])
