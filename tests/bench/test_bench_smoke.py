"""The benchmark harness works: it times, reaps and reports, and its inputs are valid.

No assertion here is about speed (the benchmarks themselves do that, outside
`make test`); these prove the measuring instrument is sound on tiny inputs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from shardplan_schemas.source import SourceLine
from shardplan_schemas.spec import PipelineSpec

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _repo_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """`bench` is a top-level package of the repository, not of the installed distribution."""
    monkeypatch.syspath_prepend(str(REPO))


def test_run_once_reports_the_child_s_own_peak_rss() -> None:
    """Measured from a small parent: Linux counts the memory a child had before `exec`.

    A child forked (or vforked) from this pytest process starts with its
    resident set, and `ru_maxrss` keeps that high-water mark across `exec`,
    so the measurement is only meaningful from a parent as small as `python
    -m bench` is.
    """
    probe = """
import json, sys
from bench.harness import Command, run_once
allocate = Command("alloc", (sys.executable, "-c", "b = bytearray(80 * 1024 * 1024)"))
idle = Command("idle", (sys.executable, "-c", "pass"))
big, small = run_once(allocate), run_once(idle)
print(json.dumps([big.peak_rss_bytes, small.peak_rss_bytes, big.seconds, big.returncode]))
"""
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    big_rss, small_rss, seconds, returncode = json.loads(result.stdout)
    mib = 1024 * 1024
    assert big_rss >= 80 * mib
    assert small_rss < big_rss - 40 * mib
    assert seconds > 0
    assert returncode == 0


def test_a_failing_command_raises_with_its_stderr() -> None:
    from bench.harness import Command, CommandFailed, run_once

    failing = Command(
        "fails", (sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)")
    )
    with pytest.raises(CommandFailed, match="boom") as raised:
        run_once(failing)
    assert raised.value.returncode == 3


def test_paired_runs_alternate_and_the_ratio_is_of_medians(tmp_path: Path) -> None:
    from bench.harness import Command, measure_paired

    log = tmp_path / "order.log"

    def appender(label: str) -> Command:
        code = f"open({str(log)!r}, 'a').write({label!r})"
        return Command(label, (sys.executable, "-c", code))

    result = measure_paired(appender("A"), appender("B"), repeats=4, warmup=1)
    assert log.read_text() == "AB" + "AB" + "BA" + "AB" + "BA"
    assert len(result.candidate_samples) == len(result.alternative_samples) == 4
    assert result.ratio == pytest.approx(result.candidate_median / result.alternative_median)
    assert len(result.pair_ratios) == 4


def test_generated_specs_are_valid_for_the_model_and_the_exported_schema(tmp_path: Path) -> None:
    from bench.data import write_specs

    schema = json.loads((REPO / "generated" / "pipeline-spec.schema.json").read_text())
    paths = write_specs(tmp_path, 40)
    assert len({path.read_text() for path in paths}) == 40
    for path in paths:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        PipelineSpec.model_validate(document)
        jsonschema.validate(document, schema)


def test_generated_script_holds_valid_unique_lines_in_contiguous_scenes(tmp_path: Path) -> None:
    from bench.data import write_script

    path = tmp_path / "script.jsonl"
    stats = write_script(path, 3000)
    lines = [
        SourceLine.model_validate_json(raw) for raw in path.read_text(encoding="utf-8").splitlines()
    ]
    assert stats.lines == len(lines) == 3000
    assert stats.size_bytes == path.stat().st_size
    assert len({line.line_id for line in lines}) == 3000
    scene_runs = [
        line.scene_id
        for i, line in enumerate(lines)
        if i == 0 or lines[i - 1].scene_id != line.scene_id
    ]
    assert len(scene_runs) == len(set(scene_runs)) == stats.scenes
    assert all(line.route_id is not None for line in lines)


def test_parse_importtime_reads_depth_and_times() -> None:
    from bench.profiling import parse_importtime

    stderr = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       120 |        120 |   _io\n"
        "import time:      2000 |       5000 | pydantic\n"
    )
    costs = parse_importtime(stderr)
    assert [(c.module, c.depth, c.cumulative_us) for c in costs] == [
        ("_io", 1, 120),
        ("pydantic", 0, 5000),
    ]


def test_the_cli_runs_every_benchmark_on_tiny_inputs(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--size", "tiny", "--json", str(report)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "benchmark" in completed.stdout
    rows = json.loads(report.read_text())["rows"]
    names = " ".join(row["benchmark"] for row in rows)
    for benchmark in ("validate", "compile", "executor", "rerun"):
        assert benchmark in names
    # A row either measured something or says why it could not.
    assert all(row["value"] is not None or row["details"] for row in rows)
    # The run at scale is put beside the handler's own work, timed with no executor.
    assert any("the handler's own work alone" in row["details"] for row in rows)


def test_tree_memory_counts_forked_workers_that_ru_maxrss_misses() -> None:
    from bench.harness import MIB, Command, peak_tree_memory

    code = (
        "import os, time\n"
        "pid = os.fork()\n"
        "block = bytearray(100 * 1024 * 1024)\n"
        "time.sleep(0.5)\n"
        "os._exit(0) if pid == 0 else os.waitpid(pid, 0)\n"
    )
    forking = Command("fork", (sys.executable, "-c", code))
    # ru_maxrss counts what the child had when it was forked, before exec: a test process
    # grown by hundreds of tests would show through, so the harness runs from a small one.
    measure = (
        "import sys; from bench.harness import Command, run_once; "
        "print(run_once(Command('fork', (sys.executable, '-c', sys.argv[1]))).peak_rss_bytes)"
    )
    done = subprocess.run(
        [sys.executable, "-c", measure, code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(done.stdout) < 150 * MIB  # one process at a time
    assert peak_tree_memory(forking) >= 180 * MIB  # both at once


def test_boundary_tail_counts_dirty_shards_as_diff_does() -> None:
    from bench import boundary_tail

    # Split in two: 2 dirty (one changed, one added); merged: 2 (one changed, one removed).
    assert boundary_tail.dirty([(1, 2, 3, 4)], [(1, 2), (3, 4)]) == 2
    assert boundary_tail.dirty([(1, 2), (3, 4)], [(1, 2, 3, 4)]) == 2
    assert boundary_tail.dirty([(1, 2), (3, 4)], [(1, 2), (3, 4, 5)]) == 1
    # Three old shards re-split into two new ones that both pair with the middle: 4 dirty.
    assert boundary_tail.dirty([(1,), (2, 3, 4, 5), (6,)], [(1, 2, 3), (4, 5, 6)]) == 4


def test_boundary_tail_weighs_each_case_and_finds_the_long_pieces() -> None:
    from bench import boundary_tail

    buckets = boundary_tail.measure(size=3, trials=40)
    assert [bucket.k for bucket in buckets] == [3, 4, 5, 0]
    assert all(bucket.trials == 40 and bucket.worst >= 1 for bucket in buckets)
    shares = [bucket.share for bucket in buckets[:3]]
    assert shares == sorted(shares, reverse=True)
    assert 0 < shares[0] < 0.05
