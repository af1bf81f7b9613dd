"""Render `shardplan show`: a plan's phases (text, JSON, markdown) or one shard's lines."""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic import JsonValue

from shardplan_compiler.plan_summary import PhaseStats, PlanSummary
from shardplan_schemas.plan import Shard
from shardplan_schemas.source import SourceLine


def _strategy(phase: PhaseStats) -> str:
    sizes = ", ".join(
        [f"{key}={value}" for key, value in phase.sizes.items()]
        + (["boundaries=content"] if phase.boundaries == "content" else [])
    )
    return f"{phase.strategy} ({sizes})" if sizes else phase.strategy


def _languages(phase: PhaseStats) -> str:
    return ",".join(phase.target_languages) if phase.target_languages is not None else "-"


def _median(value: float) -> str:
    return f"{value:g}"


def _row(phase: PhaseStats) -> list[str]:
    if not phase.enabled:
        return [phase.phase, _strategy(phase), _languages(phase), "disabled", "-", "-", "-", "-"]
    lines = (
        f"{phase.min_lines}/{_median(phase.median_lines)}/{phase.max_lines}"
        if phase.shards
        else "-"
    )
    return [
        phase.phase,
        _strategy(phase),
        _languages(phase),
        str(phase.shards),
        str(phase.units),
        str(phase.cap),
        lines,
        f"{phase.skew:.2f}" if phase.shards else "-",
    ]


HEADERS = [
    "phase",
    "strategy",
    "languages",
    "shards",
    "units",
    "cap",
    "lines min/median/max",
    "skew",
]


def render_summary_text(summary: PlanSummary) -> str:
    rows = [HEADERS, *(_row(phase) for phase in summary.phases)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    table = "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    )
    return (
        f"plan    {summary.plan_id}\n"
        f"spec    {summary.spec_file} (sha256 {summary.spec_sha256[:12]})\n"
        f"source  {summary.source_file} ({summary.source_format}, {summary.line_count} lines, "
        f"sha256 {summary.source_sha256[:12]})\n\n"
        f"{table}\n\n"
        f"{summary.total_units} unit(s) of work in all\n"
    )


def summary_json(summary: PlanSummary) -> dict[str, JsonValue]:
    return {
        "plan_id": summary.plan_id,
        "files": {
            "spec": {
                "path": summary.spec_path,
                "file": summary.spec_file,
                "sha256": summary.spec_sha256,
            },
            "source": {
                "path": summary.source_path,
                "file": summary.source_file,
                "format": summary.source_format,
                "sha256": summary.source_sha256,
                "line_count": summary.line_count,
            },
        },
        "units": summary.total_units,
        "phases": [
            {
                "phase": phase.phase,
                "enabled": phase.enabled,
                "strategy": phase.strategy,
                "boundaries": phase.boundaries,
                **phase.sizes,
                "target_languages": list(phase.target_languages)
                if phase.target_languages is not None
                else None,
                "agents": list(phase.agents),
                "shards": phase.shards,
                "units": phase.units,
                "max_parallel_agents": phase.cap,
                "lines_per_shard": {
                    "min": phase.min_lines,
                    "median": phase.median_lines,
                    "max": phase.max_lines,
                },
                "skew": round(phase.skew, 4),
            }
            for phase in summary.phases
        ],
    }


def render_summary_json(summary: PlanSummary) -> str:
    return json.dumps(summary_json(summary), indent=2, ensure_ascii=False) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render_summary_markdown(summary: PlanSummary) -> str:
    lines = [
        "### Shard plan",
        "",
        f"- plan: `{summary.plan_id}`",
        f"- spec: `{summary.spec_file}`",
        f"- source: `{summary.source_file}` ({summary.source_format}, {summary.line_count} lines)",
        f"- units of work: {summary.total_units}",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join(["---"] * 3 + ["---:"] * 3 + ["---", "---:"]) + "|",
    ]
    lines += [
        "| " + " | ".join(_md(cell) for cell in _row(phase)) + " |" for phase in summary.phases
    ]
    return "\n".join(lines) + "\n"


def render_shard_text(shard: Shard, lines: Sequence[SourceLine]) -> str:
    out = [
        f"shard {shard.key}: lines {shard.start}-{shard.end - 1} ({shard.line_count}), "
        f"sha256 {shard.sha256[:12]}"
    ]
    for line in lines:
        where = "/".join(part for part in (line.scene_id, line.route_id) if part)
        speaker = f"{line.speaker}: " if line.speaker else ""
        out.append(f"{line.line_id}  [{where}]  {speaker}{line.text}")
    return "\n".join(out) + "\n"


def render_shard_json(shard: Shard, lines: Sequence[SourceLine]) -> str:
    document: dict[str, JsonValue] = {
        "shard": shard.model_dump(mode="json"),
        "lines": [line.model_dump(mode="json", exclude_none=True) for line in lines],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_shard_markdown(shard: Shard, lines: Sequence[SourceLine]) -> str:
    out = [
        f"### Shard `{shard.key}` ({shard.line_count} lines)",
        "",
        "| line_id | scene | route | speaker | text |",
        "|---|---|---|---|---|",
    ]
    for line in lines:
        cells = [
            line.line_id,
            line.scene_id or "",
            line.route_id or "",
            line.speaker or "",
            line.text,
        ]
        out.append("| " + " | ".join(_md(cell).replace("\n", "<br>") for cell in cells) + " |")
    return "\n".join(out) + "\n"
