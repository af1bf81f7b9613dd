"""One JSON array of diagnostic objects (DESIGN §6), for tools that read findings."""

from __future__ import annotations

import json
from collections.abc import Sequence

from shardplan_schemas.diagnostics import Diagnostic

FIELDS = ("path", "line", "column", "severity", "code", "message", "pointer")


def render_json(diagnostics: Sequence[Diagnostic]) -> str:
    rows = [{name: getattr(diagnostic, name) for name in FIELDS} for diagnostic in diagnostics]
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
