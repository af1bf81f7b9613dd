"""The example specs the editor and CI tests run over: the broken ones and the valid ones.

A broken example names the diagnostic it demonstrates in its header,
`# expect: SPxxx line:col`; every other `*.shardplan.yaml` under `examples/`
is a valid spec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
BROKEN = EXAMPLES / "broken"
SPEC_SCHEMA = REPO / "generated" / "pipeline-spec.schema.json"

_EXPECT = re.compile(rb"^# expect: (SP\d{3}) (\d+):(\d+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class BrokenExample:
    """A spec that breaks exactly one rule, and where `shardplan validate` reports it."""

    path: Path
    code: str
    line: int
    column: int

    @property
    def name(self) -> str:
        return self.path.name


def broken_examples() -> list[BrokenExample]:
    found: list[BrokenExample] = []
    for path in sorted(BROKEN.glob("*.yaml")):
        match = _EXPECT.search(path.read_bytes()[:2000])
        assert match, f"{path} has no `# expect: SPxxx line:col` header"
        found.append(BrokenExample(path, match[1].decode(), int(match[2]), int(match[3])))
    return found


def valid_examples() -> list[Path]:
    specs = [*EXAMPLES.rglob("*.shardplan.yaml"), *EXAMPLES.rglob("shardplan.yaml")]
    return sorted(path for path in specs if BROKEN not in path.parents)
