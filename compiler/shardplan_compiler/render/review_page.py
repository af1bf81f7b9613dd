"""`show --format html` and `diff --format html`: one self-contained review page (DESIGN §10).

The page is HTML written here, the stylesheet and script beside this module
(package files, inlined), and the data of `review_data` as JSON in a
`<script type="application/json">` element. Nothing is fetched: it opens from
a CI artifact or an email attachment.

Everything that comes from a spec, a plan or a source (paths, keys, agents,
ids, line text) is untrusted: in HTML text and attributes it is escaped with
`html.escape`; in the inline JSON every `<`, `>`, `&`, U+2028 and U+2029 is a
`\\uXXXX` escape, so no text can close the script element; and the script only
ever puts text into the page through `textContent`. A Content-Security-Policy
allows the page's own script and style by hash and nothing else, so even a
mistake in the escaping could not run a script or fetch anything.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import json
from importlib import resources
from pathlib import Path

from pydantic import JsonValue

from shardplan_compiler.plan_diff import PlanDiff
from shardplan_compiler.render.review_data import DirtyShard, diff_data, show_data
from shardplan_compiler.sources import SourceTable
from shardplan_schemas.plan import ShardPlan

MAX_LISTED_DIRTY = 5_000
"""Dirty shards listed as text; past this the page says how many more (jump finds any key)."""

_JSON_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


@functools.cache
def _asset(name: str) -> str:
    return resources.files("shardplan_compiler.render").joinpath(name).read_text(encoding="utf-8")


def script_json(data: JsonValue) -> str:
    """JSON safe inside a `<script>` element: no `<`, `>`, `&` or line separators left raw."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # Five C-level replaces: str.translate with a dict walks a multi-megabyte page in Python.
    for raw, escaped in _JSON_ESCAPES:
        text = text.replace(raw, escaped)
    return text


def _csp_hash(text: str) -> str:
    return (
        "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"
    )


def _e(value: object) -> str:
    """Escape for HTML text and double-quoted attributes."""
    return html.escape(str(value), quote=True)


def _meta(rows: list[tuple[str, str]]) -> str:
    items = "".join(f"<dt>{_e(name)}</dt><dd>{value}</dd>" for name, value in rows)
    return f'<dl class="meta">{items}</dl>'


def _code(value: object) -> str:
    return f"<code>{_e(value)}</code>"


def _plan_rows(plan: dict[str, JsonValue], prefix: str) -> list[tuple[str, str]]:
    return [
        (f"{prefix}plan", _code(plan["plan_id"])),
        (f"{prefix}spec", _code(plan["spec"])),
        (
            f"{prefix}source",
            f"{_code(plan['source'])} ({_e(plan['source_format'])}, {_e(plan['line_count'])} lines)",
        ),
    ]


def _legend(kind: str) -> str:
    if kind == "diff":
        items = [
            ("unchanged", "unchanged (grey)"),
            ("changed", "~ changed (orange, hatched)"),
            ("added", "+ added (blue, dotted)"),
            ("removed", "− removed (vermillion, crossed; lower lane, at its old place)"),
        ]
    else:
        items = [
            ("shard", "shard (alternating blues)"),
            ("heavy", "heavy: over 1.5× the phase median (orange, hatched)"),
        ]
    items.append(("disabled", "disabled phase"))
    lis = "".join(
        f'<li><span class="swatch sw-{name}" aria-hidden="true"></span>{_e(text)}</li>'
        for name, text in items
    )
    return f'<ul class="legend" aria-label="Legend">{lis}</ul>'


def _languages(phase: dict[str, JsonValue]) -> str:
    languages = phase.get("languages")
    return ", ".join(str(x) for x in languages) if isinstance(languages, list) else "-"


def _phase_section(index: int, phase: dict[str, JsonValue], kind: str) -> str:
    name = str(phase["phase"])
    lanes = phase["lanes"]
    assert isinstance(lanes, list)
    first = lanes[0]
    assert isinstance(first, dict)
    shard_count = first["n"]
    strategy = str(phase["strategy"]) + (f" ({phase['sizes']})" if phase["sizes"] else "")
    agents = phase["agents"]
    assert isinstance(agents, list)
    meta = [
        f"strategy {_e(strategy)}",
        f"cap {_e(phase['cap'])}",
        f"languages {_e(_languages(phase))}",
        f"agents {_e(', '.join(str(a) for a in agents) or '-')}",
    ]
    if phase["enabled"]:
        median = phase["median"]
        assert isinstance(median, float | int)
        meta.append(f"{_e(shard_count)} shard(s), median {median:g} lines")
    badge = '<span class="badge badge-disabled">disabled</span>' if not phase["enabled"] else ""
    summary = ""
    config = ""
    if kind == "diff":
        counts = phase["counts"]
        assert isinstance(counts, dict)
        status = phase.get("status")
        extra = f" (phase {_e(status)})" if status in ("added", "removed") else ""
        summary = (
            f'<p class="phase-summary">{_e(counts["unchanged"])} unchanged, '
            f"{_e(counts['changed'])} changed, {_e(counts['added'])} added, "
            f"{_e(counts['removed'])} removed{extra}</p>"
        )
        changes = phase.get("config")
        if isinstance(changes, list) and changes:
            config = (
                '<ul class="config">'
                + "".join(f"<li>{_code(change)}</li>" for change in changes)
                + "</ul>"
            )
    two = " two-lanes" if len(lanes) > 1 else ""
    label = f"{name}: {shard_count} shard(s) along the script"
    if len(lanes) > 1:
        label += "; lower lane: removed shards"
    label += ". Arrow keys move between shards, + and - zoom, n and p jump to the next dirty shard."
    return (
        f'<section class="phase" id="phase-{_e(name)}" aria-labelledby="phase-title-{index}">'
        f'<div class="phase-head"><h2 id="phase-title-{index}">{_e(name)}</h2>{badge}'
        f'<p class="phase-meta">{" · ".join(meta)}</p></div>'
        f"{summary}{config}"
        f'<canvas class="strip{two}" id="strip-{index}" tabindex="0" role="img" '
        f'aria-label="{_e(label)}"></canvas></section>'
    )


def _dirty_item(item: DirtyShard, phase_index: int) -> str:
    was = f" (was {_code(item.old_key)})" if item.old_key else ""
    reasons = []
    for reason in item.reasons:
        text = _e(reason.get("reason"))
        ids = reason.get("line_ids")
        if isinstance(ids, list) and ids:
            more = reason.get("more_ids")
            text += (
                ": " + ", ".join(_code(i) for i in ids) + (f" (+{_e(more)} more)" if more else "")
            )
        fields = reason.get("fields")
        if isinstance(fields, list) and fields:
            text += ": " + ", ".join(_code(f) for f in fields)
        lines = reason.get("lines")
        if isinstance(lines, list):
            for line in lines:
                assert isinstance(line, dict)
                if "old" in line:
                    text += (
                        f'<span class="line-text">{_code(line["id"])} was: {_e(line["old"])}</span>'
                    )
                if "new" in line:
                    text += (
                        f'<span class="line-text">{_code(line["id"])} now: {_e(line["new"])}</span>'
                    )
        reasons.append(text)
    because = f" — {'; '.join(reasons)}" if reasons else ""
    return (
        f'<li><button type="button" class="jump mono" data-key="{_e(item.key)}" '
        f'data-phase="{phase_index}" data-lane="{item.lane}">{_e(item.key)}</button> '
        f'<span class="status st-{_e(item.status)}">{_e(item.status)}</span>{was}, '
        f"lines {item.start}–{item.end - 1}{because}</li>"
    )


def _dirty_section(dirty: list[DirtyShard], phase_names: list[str]) -> str:
    index = {name: i for i, name in enumerate(phase_names)}
    if not dirty:
        return '<section id="dirty"><h2>Dirty shards</h2><p>None: no shard changed.</p></section>'
    items = "".join(_dirty_item(d, index[d.phase]) for d in dirty[:MAX_LISTED_DIRTY])
    more = (
        f"<p>… and {len(dirty) - MAX_LISTED_DIRTY} more (find any of them with “Jump to shard”).</p>"
        if len(dirty) > MAX_LISTED_DIRTY
        else ""
    )
    return (
        f'<section id="dirty" aria-labelledby="dirty-title"><h2 id="dirty-title">Dirty shards '
        f"({len(dirty)})</h2><ol>{items}</ol>{more}</section>"
    )


def _page(title: str, header: str, data: dict[str, JsonValue], phases_html: str, tail: str) -> str:
    css = _asset("review_page.css")
    js = _asset("review_page.js")
    csp = (
        f"default-src 'none'; script-src {_csp_hash(js)}; style-src {_csp_hash(css)}; "
        "img-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'"
    )
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(csp)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{css}</style></head>\n<body>\n"
        f"<header>{header}</header>\n"
        '<nav class="controls" aria-label="Zoom and jump">'
        '<button type="button" id="zoom-in">Zoom in (+)</button>'
        '<button type="button" id="zoom-out">Zoom out (−)</button>'
        '<button type="button" id="zoom-reset">Whole script (0)</button>'
        '<span id="view-range" class="hint"></span>'
        '<form id="jump" role="search"><label for="jump-key">Jump to shard</label>'
        '<input id="jump-key" type="search" placeholder="phase:line_id" autocomplete="off">'
        '<button type="submit">Go</button></form>'
        '<span id="jump-status" role="status"></span></nav>\n'
        f"<main>{_legend(str(data['kind']))}"
        '<p class="hint" id="js-hint" hidden>Hover a shard, or focus a strip (Tab) and use the '
        "arrow keys; + and − zoom, Shift+arrows pan, wheel zooms, drag pans.</p>"
        '<canvas id="axis" class="axis" aria-hidden="true"></canvas>\n'
        f"{phases_html}\n"
        '<section id="details" aria-labelledby="details-title"><h2 id="details-title">'
        'Selected shard</h2><div id="detail-body" aria-live="polite">Hover a shard or focus a '
        "strip to see its key, lines, scenes and routes.</div></section>\n"
        f"{tail}</main>\n"
        '<div id="tip" role="tooltip" hidden></div>\n'
        f'<script type="application/json" id="page-data">{script_json(data)}</script>\n'
        f"<script>{js}</script>\n</body></html>\n"
    )


def _notes(data: dict[str, JsonValue]) -> str:
    notes = data.get("notes")
    if not isinstance(notes, list):
        return ""
    return "".join(f'<p class="note" role="note">{_e(note)}</p>' for note in notes)


def render_show_html(plan: ShardPlan, plan_dir: Path, plan_path: Path | None = None) -> str:
    """The review page of one plan (raises `PlanError` when the plan's keys contradict its
    source)."""
    data = show_data(plan, plan_dir, plan_path)
    head = data["plan"]
    assert isinstance(head, dict)
    rows = _plan_rows(head, "")
    rows += [
        ("lines", _e(head["line_count"])),
        ("shards", _e(head["shards"])),
        ("units of work", _e(head["units"])),
    ]
    header = f"<h1>Shard plan</h1>{_meta(rows)}{_notes(data)}"
    phases = data["phases"]
    assert isinstance(phases, list)
    sections = "\n".join(
        _phase_section(i, p, "show") for i, p in enumerate(phases) if isinstance(p, dict)
    )
    return _page(f"Shard plan {plan.plan_id[7:19]}", header, data, sections, "")


def render_diff_html(
    old: ShardPlan,
    new: ShardPlan,
    diff: PlanDiff,
    old_dir: Path,
    new_dir: Path,
    tables: tuple[SourceTable | None, SourceTable | None] = (None, None),
) -> str:
    """The review page of a diff: the new plan's shards marked, the removed ones below.

    `tables` are the plans' sources when the caller has read and checked them."""
    data, dirty = diff_data(old, new, diff, old_dir, new_dir, tables)
    head = data["plan"]
    old_head = data["old"]
    assert isinstance(head, dict)
    assert isinstance(old_head, dict)
    rows = _plan_rows(old_head, "old ") + _plan_rows(head, "new ")
    rows += [
        ("units of work", f"{_e(old_head['units'])} → {_e(head['units'])}"),
    ]
    totals = data["totals"]
    assert isinstance(totals, dict)
    if diff.differs:
        summary = (
            f'<p class="totals">{_e(totals["changed"])} changed, {_e(totals["added"])} added, '
            f"{_e(totals['removed'])} removed, {_e(totals['unchanged'])} unchanged shard(s)</p>"
        )
    else:
        summary = f'<p class="totals">No differences: both plans are {_code(diff.new_plan_id)}.</p>'
    changes = data.get("changes")
    if isinstance(changes, list) and changes:
        summary += (
            '<ul class="config">' + "".join(f"<li>{_code(c)}</li>" for c in changes) + "</ul>"
        )
    header = f"<h1>Shard plan diff</h1>{_meta(rows)}{summary}{_notes(data)}"
    phases = data["phases"]
    assert isinstance(phases, list)
    sections = "\n".join(
        _phase_section(i, p, "diff") for i, p in enumerate(phases) if isinstance(p, dict)
    )
    tail = _dirty_section(dirty, [p.phase for p in diff.phases])
    return _page(f"Shard plan diff {new.plan_id[7:19]}", header, data, sections, tail)
