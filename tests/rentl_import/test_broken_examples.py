"""Every broken rentl.toml in examples/broken/rentl yields exactly what its `# expect:` lines name.

One example per SP7xx code; docs/diagnostics.md links them. Every import also
reports the SP740 info (a rentl.toml always has tables the spec leaves out),
so infos count only in the example about them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shardplan_compiler.codes import CODES
from shardplan_compiler.rentl.importer import SCHEMA_URL, import_rentl

from .helpers import REPO

BROKEN = REPO / "examples" / "broken" / "rentl"
EXAMPLES = sorted(BROKEN.glob("*.rentl.toml"))
EXPECT = re.compile(rb"^# expect: (SP\d{3}) (\d+):(\d+)$")


def expected(path: Path) -> set[tuple[str, int, int]]:
    found = set()
    for line in path.read_bytes().splitlines():
        match = EXPECT.match(line)
        if match:
            found.add((match[1].decode(), int(match[2]), int(match[3])))
    return found


def test_there_is_an_example_for_every_import_code() -> None:
    covered = {code for path in EXAMPLES for code, _, _ in expected(path)}
    assert covered == {code for code in CODES if code.startswith("SP7")}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_reports_what_it_expects(path: Path) -> None:
    want = expected(path)
    own = path.name[:5].upper()
    result = import_rentl(path, path.parent, SCHEMA_URL, "shardplan import rentl")
    got = {
        (d.code, d.line, d.column)
        for d in result.diagnostics
        if d.severity != "info" or d.code == own
    }
    assert got == want
    errors = any(d.severity == "error" for d in result.diagnostics)
    assert (result.spec_text is None) == errors
    assert result.exit_code == (2 if own == "SP700" else 1 if errors else 0)
