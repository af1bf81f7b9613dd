"""Render diagnostics in one of the output formats (`--format`).

Each format lives in its own module and is imported only when chosen, so the
common case (text in a terminal or in pre-commit) pays for nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from shardplan_schemas.diagnostics import Diagnostic

DiagnosticFormat = Literal["text", "json", "github", "sarif"]
FORMAT_BY_NAME: dict[str, DiagnosticFormat] = {
    "text": "text",
    "json": "json",
    "github": "github",
    "sarif": "sarif",
}
DIAGNOSTIC_FORMATS: tuple[str, ...] = tuple(FORMAT_BY_NAME)


def sort_diagnostics(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    """The one order every format prints: by file (in the order given), line, column, code."""
    first_seen: dict[str, int] = {}
    for diagnostic in diagnostics:
        first_seen.setdefault(diagnostic.path, len(first_seen))
    return sorted(
        diagnostics, key=lambda d: (first_seen[d.path], d.line, d.column, d.code, d.pointer)
    )


def render_diagnostics(diagnostics: Sequence[Diagnostic], fmt: DiagnosticFormat) -> str:
    """The diagnostics in format `fmt`; empty or a complete document, ending in a newline."""
    ordered = sort_diagnostics(diagnostics)
    if fmt == "text":
        from shardplan_compiler.render.text import render_text

        return render_text(ordered)
    if fmt == "json":
        from shardplan_compiler.render.json_format import render_json

        return render_json(ordered)
    if fmt == "github":
        from shardplan_compiler.render.github import render_github

        return render_github(ordered)
    if fmt == "sarif":
        from shardplan_compiler.render.sarif import render_sarif

        return render_sarif(ordered)
    raise ValueError(f"unknown diagnostic format {fmt!r}")
