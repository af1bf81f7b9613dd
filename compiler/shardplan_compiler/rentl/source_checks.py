"""What rentl gets wrong that only the source lines show.

rentl's context agent fails on lines without a `scene_id`, and rentl's TXT
reader refuses empty lines (shardplan skips them): both are found only by
reading the input file, so they are checked when the file is there and
readable. A missing or broken source is not the import's business:
`shardplan compile` reports it, at its line.
"""

from __future__ import annotations

from pathlib import Path

from shardplan_compiler.rentl.config import RentlConfig
from shardplan_compiler.rentl.findings import Finding
from shardplan_schemas.source_formats import is_blank

SHOWN_RANGES = 3


def source_findings(config: RentlConfig, source: Path, display: str) -> list[Finding]:
    """SP734 (context on lines without scenes) and SP735 (empty TXT lines), when readable."""
    if not source.is_file():
        return []
    fmt = config.project.formats.input_format
    found: list[Finding] = []
    if fmt == "txt":
        found += _txt_empty_lines(source, display)
    for index, phase in enumerate(config.pipeline.phases):
        if phase.phase != "context" or not phase.enabled:
            continue
        # The compiler's reader, loaded only here: it is fast on a big script, slow to import.
        from shardplan_compiler.sharding import lines_without_key
        from shardplan_compiler.sources import read_source

        read = read_source(source, fmt, display, parallel=False)
        table = read.table
        if table is None:
            break
        missing = lines_without_key(table.scene_runs, len(table))
        if missing:
            count = sum(end - start for start, end in missing)
            shown = ", ".join(
                table.where_range(start, end) for start, end in missing[:SHOWN_RANGES]
            )
            more = f" and {len(missing) - SHOWN_RANGES} more runs" if len(missing) > 3 else ""
            found.append(
                Finding(
                    "SP734",
                    ("pipeline", "phases", index),
                    f"{count} line(s) have no `scene_id` ({shown}{more}): rentl's context "
                    "agent fails on them; give every line a scene, or disable context",
                )
            )
    return found


def _txt_empty_lines(source: Path, display: str) -> list[Finding]:
    try:
        data = source.read_bytes()
    except OSError:
        return []
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()  # the line break that ends the last line
    empty = [number for number, raw in enumerate(lines, start=1) if is_blank(raw)]
    if not empty:
        return []
    shown = ", ".join(f"{display}:{number}" for number in empty[:SHOWN_RANGES])
    more = f" and {len(empty) - SHOWN_RANGES} more" if len(empty) > SHOWN_RANGES else ""
    return [
        Finding(
            "SP735",
            ("project", "formats", "input_format"),
            f"rentl refuses TXT input with empty lines ({shown}{more}); shardplan skips "
            "them, so the plan covers lines rentl would never run: remove the empty lines",
            "value",
        )
    ]
