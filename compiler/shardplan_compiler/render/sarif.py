"""SARIF 2.1.0, the format GitHub code scanning and other review tools import.

One run with one tool component whose rules are every stable code of
`codes.py` (so a rule's index never depends on which findings occurred), and
one result per diagnostic. Locations are repository-relative URIs with `/`
separators, resolved against `%SRCROOT%` (which the uploader binds to the
checkout), so results line up with the files wherever the repository was
cloned and the log holds no absolute path of this machine.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from shardplan_compiler.codes import CODES
from shardplan_schemas.diagnostics import Diagnostic

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def find_source_root(start: Path) -> Path:
    """The repository root above `start` (the nearest directory holding `.git`), else `start`."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return start


def artifact_location(path: str, root: Path, cwd: Path) -> dict[str, str]:
    """A SARIF artifactLocation: relative to `root` when the file lies under it."""
    absolute = Path(os.path.normpath(cwd / path))
    try:
        relative = absolute.relative_to(root)
    except ValueError:
        return {"uri": absolute.as_uri()}
    return {"uri": quote(PurePosixPath(*relative.parts).as_posix()), "uriBaseId": "%SRCROOT%"}


def sarif_log(
    diagnostics: Sequence[Diagnostic], *, root: Path | None = None, cwd: Path | None = None
) -> dict[str, object]:
    """The SARIF log as plain data."""
    from shardplan_schemas import __version__

    cwd = cwd or Path.cwd()
    root = root or find_source_root(cwd)
    rule_index = {code: index for index, code in enumerate(CODES)}
    rules = [
        {
            "id": info.code,
            "name": info.name,
            "shortDescription": {"text": info.summary},
            "help": {"text": f"See docs/diagnostics.md, section {info.code}."},
            "defaultConfiguration": {"level": _LEVEL[info.severity]},
        }
        for info in CODES.values()
    ]
    results: list[dict[str, object]] = []
    for diagnostic in diagnostics:
        result: dict[str, object] = {
            "ruleId": diagnostic.code,
            "level": _LEVEL[diagnostic.severity],
            "message": {"text": diagnostic.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": artifact_location(diagnostic.path, root, cwd),
                        "region": {
                            "startLine": diagnostic.line,
                            "startColumn": diagnostic.column,
                        },
                    }
                }
            ],
        }
        if diagnostic.code in rule_index:
            result["ruleIndex"] = rule_index[diagnostic.code]
        if diagnostic.pointer:
            result["properties"] = {"pointer": diagnostic.pointer}
        results.append(result)
    run: dict[str, object] = {
        "tool": {
            "driver": {
                "name": "shardplan",
                "version": __version__,
                "rules": rules,
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(diagnostics: Sequence[Diagnostic]) -> str:
    return json.dumps(sarif_log(diagnostics), indent=2, ensure_ascii=False) + "\n"
