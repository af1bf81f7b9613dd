"""What the user sees: a live bar on a terminal, plain lines otherwise, nothing with --quiet."""

from __future__ import annotations

import io
from pathlib import Path

from click.testing import CliRunner

from shardplan_compiler.cli import main
from shardplan_executor.progress import Progress
from shardplan_executor.runner import RunOptions, run_plan

from .helpers import handler_ref
from .plan_factory import Layout, build_plan, make_lines


def _run(tmp_path: Path, progress: Progress, quiet: bool = False) -> int:
    plan = build_plan(tmp_path, make_lines(6), [Layout("context", chunk_size=2)])
    options = RunOptions(
        plan_path=plan, handler=handler_ref("echo_handler"), out_dir=tmp_path / "run", quiet=quiet
    )
    return run_plan(options, progress)


def test_a_terminal_gets_a_live_bar_with_counts_rate_and_eta(tmp_path: Path) -> None:
    screen = io.StringIO()
    assert _run(tmp_path, Progress(screen, live=True)) == 0
    text = screen.getvalue()
    assert "\r\x1b[Kcontext        [" in text
    assert "] 3/3 " in text
    assert "/s ETA 0:00" in text
    assert "context: completed, 3 run, 0 already done, 0 failed" in text


def test_plain_lines_when_not_a_terminal(tmp_path: Path) -> None:
    log = io.StringIO()
    assert _run(tmp_path, Progress(log, live=False)) == 0
    lines = log.getvalue().splitlines()
    assert lines[0] == "context: 3 unit(s) to run, up to 4 at once"
    assert lines[1].startswith("context: completed, 3 run, 0 already done, 0 failed in ")
    assert "\r" not in log.getvalue()
    assert "run completed: 3 unit(s) run" in log.getvalue()


def test_quiet_prints_nothing_on_success(tmp_path: Path) -> None:
    screen = io.StringIO()
    assert _run(tmp_path, Progress(screen, quiet=True, live=True), quiet=True) == 0
    assert screen.getvalue() == ""


def test_shardplan_run_is_reached_through_the_main_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", "--help"])
    assert result.exit_code == 0
    assert "--handler" in result.output
    assert "golden.plan.run" in result.output
    usage = CliRunner().invoke(
        main, ["run", "plan.json", "--handler", "pseudo", "--scheduler", "x"]
    )
    assert usage.exit_code == 2
    assert "--scheduler needs --backend dask" in usage.output
