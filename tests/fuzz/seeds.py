"""Seed inputs for the fuzz targets, written at run time from the repository's examples.

Starting from real specs, sources and a real plan lets the fuzzer reach deep
paths (the models, the spec rules, plan verification) within seconds instead
of spending its budget rediscovering `version: 1`.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
GOLDEN = EXAMPLES / "golden"


def golden_plan(directory: Path = GOLDEN) -> bytes:
    """The golden plan compiled from the spec in `directory`, as if written there."""
    from shardplan_compiler.compile_spec import compile_loaded_spec
    from shardplan_compiler.spec_loading import load_spec

    spec = directory / "golden.shardplan.yaml"
    result = compile_loaded_spec(load_spec(spec), None, directory)
    return result.to_bytes()


def seed_inputs(target: str) -> list[bytes]:
    """A few small valid and invalid inputs of the kind `target` reads."""
    script = (GOLDEN / "script.jsonl").read_bytes()
    if target == "spec":
        specs = sorted(EXAMPLES.glob("**/*.shardplan.yaml"))
        return [path.read_bytes() for path in specs if path.stat().st_size < 8192]
    if target == "source_jsonl":
        lines = script.splitlines(keepends=True)
        return [b"".join(lines[:6]), b"".join(lines[:3]) + b'{"line_id": "x"}\n', b"\n"]
    if target == "source_csv":
        return [
            b"line_id,text,scene_id,route_id,speaker\nline_1,hello,scene_1,route_1,ann\n"
            b'line_2,"a, quoted\nline",scene_1,,\n',
            b"\xef\xbb\xbfline_id,text\r\nline_1,x\r\n",
        ]
    if target == "source_txt":
        return [b"first line\n\nthird line\r\n", "日本語\n".encode()]
    if target == "plan":
        plan = golden_plan()
        return [plan, plan[: len(plan) // 3], b"{}", b"[]"]
    if target == "diff_reasons":
        lines = script.splitlines(keepends=True)
        edited = [*lines[:10], lines[10].replace(b'"text": "', b'"text": "x'), *lines[11:]]
        return [script, b"".join(lines[:20]), b"".join(edited), b"".join(lines[::-1])]
    if target == "rentl":
        configs = [EXAMPLES / "rentl" / "rentl.toml"]
        configs += sorted((EXAMPLES / "broken" / "rentl").glob("*.rentl.toml"))
        return [path.read_bytes() for path in configs]
    if target == "review_page":
        return [
            b"scene_summarizer\x00spec.yaml\x000.1.0\x00key\x00text\x00speaker",
            b"<img src=x onerror=alert(1)>\x00</script><script>alert(2)</script>\x00"
            b"\"'><svg onload=alert(3)>\x00\xe2\x80\xa8<!--\x00]]>&amp;\x00<b>",
            b"",
        ]
    if target == "run_dir":
        from .targets import run_dir_journal

        journal = run_dir_journal()
        return [bytes([mode]) + journal for mode in range(4)] + [b"\x00" + journal[:500], b""]
    if target == "selftest_crash":
        return [b"ok", b"boom"]
    raise KeyError(target)


def write_seeds(target: str, directory: Path) -> Path:
    """The seeds of `target` as files in `directory` (libFuzzer adds what it finds there)."""
    directory.mkdir(parents=True, exist_ok=True)
    for index, data in enumerate(seed_inputs(target)):
        (directory / f"seed-{index:03d}").write_bytes(data)
    return directory
