"""rentl's CSV input loads as it is (DESIGN §3, issue 10 part 4).

rentl reads `line_id`, `text`, optional `scene_id` and `speaker`, a
`metadata` column holding JSON, and puts any other column under
`metadata.extra`; it has no `route_id` column. The compiler's reader and the
executor's must read such a file alike, line for line and field for field.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shardplan_compiler.sources import read_source
from shardplan_schemas.source_formats import SourceFormatError, read_source_lines

RENTL_CSV = (
    "line_id,scene_id,speaker,text,metadata,voice_file,note\n"
    'scene_001_0001,scene_001,Aoi,こんにちは,"{""is_choice"": false}",aoi_001.ogg,\n'
    "scene_001_0002,scene_001,,「はい」,,,aside\n"
    'scene_002_0001,,,"a, quoted\nline",,,\n'
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "script.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_rentl_csv_loads_with_metadata_and_extra_columns(tmp_path: Path) -> None:
    path = _write(tmp_path, RENTL_CSV)
    lines = read_source_lines(path, "csv")
    assert [line.line_id for line in lines] == [
        "scene_001_0001",
        "scene_001_0002",
        "scene_002_0001",
    ]
    assert lines[0].metadata == {"is_choice": False, "extra": {"voice_file": "aoi_001.ogg"}}
    assert lines[1].metadata == {"extra": {"note": "aside"}}
    assert lines[1].speaker is None  # an empty cell is absent
    assert lines[2].metadata is None
    assert lines[2].scene_id is None
    assert lines[2].text == "a, quoted\nline"
    assert all(line.route_id is None for line in lines)  # rentl's CSV has no route_id column
    compiled = read_source(path, "csv")
    assert compiled.diagnostics == []
    assert compiled.table is not None
    assert compiled.table.line_ids == [line.line_id for line in lines]
    assert list(compiled.table.line_numbers) == [2, 3, 4]


def test_metadata_extra_merges_with_the_metadata_cell(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'line_id,text,metadata,mood\nline_1,x,"{""extra"": {""a"": 1}}",calm\n',
    )
    (line,) = read_source_lines(path, "csv")
    assert line.metadata == {"extra": {"a": 1, "mood": "calm"}}


def test_a_metadata_cell_that_is_not_a_json_object_is_a_bad_record(tmp_path: Path) -> None:
    path = _write(tmp_path, 'line_id,text,metadata\nline_1,x,"[1, 2]"\nline_2,y,{oops\n')
    found = read_source(path, "csv").diagnostics
    assert [(d.code, d.line) for d in found] == [("SP402", 2), ("SP402", 3)]
    assert "JSON object" in found[0].message
    assert "not JSON" in found[1].message
    with pytest.raises(SourceFormatError) as refused:
        read_source_lines(path, "csv")
    assert refused.value.line == 2


def test_duplicate_and_unnamed_columns_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "line_id,text,text,\nline_1,x,y,z\n")
    found = read_source(path, "csv").diagnostics
    assert [(d.code, d.line) for d in found] == [("SP405", 1)]
    assert "`text`" in found[0].message
    assert "unnamed" in found[0].message


def test_extra_columns_change_the_line_digest(tmp_path: Path) -> None:
    """A changed extra cell is a changed line: the handler sees it in `metadata`."""
    one = read_source(_write(tmp_path, "line_id,text,note\nline_1,x,a\n"), "csv").table
    two = read_source(_write(tmp_path, "line_id,text,note\nline_1,x,b\n"), "csv").table
    assert one is not None
    assert two is not None
    assert one.digests != two.digests
