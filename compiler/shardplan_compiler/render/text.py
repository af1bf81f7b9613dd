"""`path:line:col: severity[CODE] message`: the format editors and terminals link."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shardplan_schemas.diagnostics import Diagnostic


def format_text_line(diagnostic: Diagnostic) -> str:
    """One diagnostic on one line (newlines in a message are flattened)."""
    message = " ".join(diagnostic.message.splitlines())
    return (
        f"{diagnostic.path}:{diagnostic.line}:{diagnostic.column}: "
        f"{diagnostic.severity}[{diagnostic.code}] {message}"
    )


def render_text(diagnostics: Sequence[Diagnostic]) -> str:
    return "".join(format_text_line(diagnostic) + "\n" for diagnostic in diagnostics)
