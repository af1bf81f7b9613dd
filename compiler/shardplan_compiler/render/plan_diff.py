"""Render `shardplan diff` as text, JSON, or markdown ready for a pull request."""

from __future__ import annotations

import json

from pydantic import JsonValue

from shardplan_compiler.plan_diff import FieldChange, PlanDiff

MAX_LISTED_KEYS = 50


def _value(value: JsonValue) -> str:
    if isinstance(value, str) and len(value) == 64:
        return value[:12] + "…"
    return json.dumps(value, ensure_ascii=False)


def _change(change: FieldChange) -> str:
    return f"{change.field}: {_value(change.old)} -> {_value(change.new)}"


def render_diff_json(diff: PlanDiff) -> str:
    return json.dumps(diff.as_json(), indent=2, ensure_ascii=False) + "\n"


def render_diff_text(diff: PlanDiff, old_name: str, new_name: str) -> str:
    if not diff.differs:
        return f"no differences: both plans are {diff.new_plan_id}\n"
    unchanged, changed, added, removed = diff.totals()
    out = [
        f"--- {old_name} ({diff.old_plan_id})",
        f"+++ {new_name} ({diff.new_plan_id})",
        f"shards: {unchanged} unchanged, {changed} changed, {added} added, {removed} removed",
    ]
    out += [f"  {_change(change)}" for change in diff.changes]
    for phase in diff.phases:
        head = (
            f"{phase.phase}: {phase.unchanged} unchanged, {len(phase.changed)} changed, "
            f"{len(phase.added)} added, {len(phase.removed)} removed"
        )
        if phase.status in ("added", "removed"):
            head += f" (phase {phase.status})"
        out.append(head)
        out += [f"  {_change(change)}" for change in phase.config]
        for mark, keys in (("~", phase.changed), ("+", phase.added), ("-", phase.removed)):
            out += [f"  {mark} {key}" for key in keys[:MAX_LISTED_KEYS]]
            if len(keys) > MAX_LISTED_KEYS:
                out.append(f"  {mark} … and {len(keys) - MAX_LISTED_KEYS} more")
    return "\n".join(out) + "\n"


def _md_change(change: FieldChange) -> str:
    return f"`{change.field}`: `{_value(change.old)}` → `{_value(change.new)}`"


def render_diff_markdown(diff: PlanDiff, old_name: str, new_name: str) -> str:
    if not diff.differs:
        return f"### Shard plan diff\n\nNo differences: both plans are `{diff.new_plan_id}`.\n"
    unchanged, changed, added, removed = diff.totals()
    out = [
        "### Shard plan diff",
        "",
        f"`{old_name}` → `{new_name}`: **{changed} changed, {added} added, {removed} removed**, "
        f"{unchanged} unchanged shard(s)",
        "",
    ]
    if diff.changes:
        out += ["**Inputs and run policy**", ""]
        out += [f"- {_md_change(change)}" for change in diff.changes]
        out.append("")
    out += [
        "| Phase | Unchanged | Changed | Added | Removed | Configuration |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for phase in diff.phases:
        config = "<br>".join(_md_change(change) for change in phase.config)
        if phase.status in ("added", "removed"):
            config = f"phase {phase.status}" + (f"<br>{config}" if config else "")
        out.append(
            f"| {phase.phase} | {phase.unchanged} | {len(phase.changed)} | {len(phase.added)} "
            f"| {len(phase.removed)} | {config} |"
        )
    listed = [p for p in diff.phases if p.changed or p.added or p.removed]
    if listed:
        out += ["", "<details><summary>Shards by key</summary>", ""]
        for phase in listed:
            for label, keys in (
                ("changed", phase.changed),
                ("added", phase.added),
                ("removed", phase.removed),
            ):
                if keys:
                    shown = ", ".join(f"`{key}`" for key in keys[:MAX_LISTED_KEYS])
                    more = (
                        f" and {len(keys) - MAX_LISTED_KEYS} more"
                        if len(keys) > MAX_LISTED_KEYS
                        else ""
                    )
                    out.append(f"- **{phase.phase}** {label}: {shown}{more}")
        out += ["", "</details>"]
    out.append("")
    out.append(f"<sub>{diff.old_plan_id} → {diff.new_plan_id}</sub>")
    return "\n".join(out) + "\n"
