"""GitHub Actions workflow commands, so findings show as annotations on the pull request.

Format: `::error file=F,line=L,col=C,title=T::MESSAGE`. GitHub decodes `%25`,
`%0D` and `%0A` in the message and additionally `%3A` and `%2C` in property
values; anything else would cut the command short or split it across lines.
"""

from __future__ import annotations

from collections.abc import Sequence

from shardplan_compiler.codes import CODES
from shardplan_schemas.diagnostics import Diagnostic

_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    """Escape a command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a command property's value (`file=`, `title=`)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github_command(diagnostic: Diagnostic) -> str:
    info = CODES.get(diagnostic.code)
    title = f"{diagnostic.code} {info.name}" if info else diagnostic.code
    properties = ",".join(
        (
            f"file={escape_property(diagnostic.path)}",
            f"line={diagnostic.line}",
            f"col={diagnostic.column}",
            f"title={escape_property(title)}",
        )
    )
    command = _COMMAND[diagnostic.severity]
    return f"::{command} {properties}::{escape_data(diagnostic.message)}"


def render_github(diagnostics: Sequence[Diagnostic]) -> str:
    return "".join(format_github_command(diagnostic) + "\n" for diagnostic in diagnostics)
