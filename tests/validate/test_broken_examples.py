"""Every broken example yields exactly the diagnostics its `# expect:` lines name.

The examples double as documentation (docs/diagnostics.md links them), so this
also keeps the documentation honest: one example per SP1xx-SP3xx code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shardplan_compiler.codes import CODES
from shardplan_compiler.spec_loading import load_spec

BROKEN = Path(__file__).resolve().parents[2] / "examples" / "broken"
EXAMPLES = sorted(BROKEN.glob("*.shardplan.yaml"))
EXPECT = re.compile(rb"^# expect: (SP\d{3}) (\d+):(\d+)$")


def expected(path: Path) -> set[tuple[str, int, int]]:
    found = set()
    for line in path.read_bytes().splitlines():
        if not line.startswith(b"#"):
            break
        match = EXPECT.match(line)
        if match:
            found.add((match[1].decode(), int(match[2]), int(match[3])))
    return found


def test_there_is_an_example_for_every_spec_code() -> None:
    covered = {code for path in EXAMPLES for code, _, _ in expected(path)}
    wanted = {code for code in CODES if code[:3] in ("SP1", "SP2", "SP3")}
    assert wanted <= covered, sorted(wanted - covered)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_reports_what_it_expects(path: Path) -> None:
    want = expected(path)
    assert want, f"{path.name} has no `# expect:` line"
    loaded = load_spec(path)
    got = {(d.code, d.line, d.column) for d in loaded.diagnostics}
    assert got == want
    assert loaded.spec is None or all(d.severity != "error" for d in loaded.diagnostics)
    for diagnostic in loaded.diagnostics:
        assert diagnostic.path == str(path)
        assert diagnostic.message


def test_golden_spec_is_clean() -> None:
    golden = BROKEN.parent / "golden" / "golden.shardplan.yaml"
    loaded = load_spec(golden)
    assert loaded.diagnostics == []
    assert loaded.spec is not None
    assert [p.phase for p in loaded.spec.phases][:2] == ["ingest", "context"]
