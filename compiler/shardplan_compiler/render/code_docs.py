"""The code table of docs/diagnostics.md, generated from `codes.py`.

The table in the document is checked against this output by the tests, so a
code added to the registry cannot go undocumented.
"""

from __future__ import annotations

from shardplan_compiler.codes import CODES

TABLE_BEGIN = "<!-- codes:begin (generated from compiler/shardplan_compiler/codes.py) -->"
TABLE_END = "<!-- codes:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_code_table() -> str:
    """The markdown table of every code, between its two marker comments."""
    rows = [
        TABLE_BEGIN,
        "| Code | Name | Severity | Meaning |",
        "| --- | --- | --- | --- |",
    ]
    rows += [
        f"| [{info.code}](#{info.code.lower()}) | `{info.name}` | {info.severity} | "
        f"{_cell(info.summary)} |"
        for info in CODES.values()
    ]
    rows.append(TABLE_END)
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # pragma: no cover - `python -m ... > table.md`
    print(render_code_table(), end="")
