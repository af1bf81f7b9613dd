"""A read-only or full disk, and an interrupted `compile -o`: a clear error and nothing half-written.

`tests/executor/test_failures.py` covers a read-only `--out` for an
unprivileged user and a full disk (RLIMIT_FSIZE) during `run`. Root ignores
directory permissions, so there its read-only test skips; here an immutable
directory (`chattr +i`, which binds root too) makes the read-only case run
as root as well, through the installed `shardplan` command. The plan-writing
faults are new: `compile -o` must replace the old plan whole or not at all.
"""

from __future__ import annotations

import contextlib
import os
import random
import resource
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import cli_env, compile_plan, shardplan, shardplan_command

KILL_TRIALS = 10
SEED = 61127
DENIED = ("Permission denied", "Operation not permitted")


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """Make `directory` unwritable for the CLI, even when the tests run as root.

    Root ignores permission bits, so as root the directory is made immutable
    (`chattr +i`, which binds root too); elsewhere it is `chmod 555`.
    """
    if os.geteuid() != 0:
        directory.chmod(0o555)
        try:
            yield
        finally:
            directory.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(directory)], check=False).returncode:
        pytest.skip("running as root without `chattr +i`: cannot make a directory read-only")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(directory)], check=True)


def _no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stdout + done.stderr, done.stderr


def test_a_read_only_out_is_a_clear_error(tmp_path: Path) -> None:
    plan = compile_plan(tmp_path / "work", 24)
    out = tmp_path / "readonly-run"
    out.mkdir()
    with read_only(out):
        done = shardplan(
            ["run", str(plan), "--handler", "pseudo", "--out", str(out), "--quiet"], plan.parent
        )
    _no_traceback(done)
    assert done.returncode == 2, done.stderr
    assert str(out) in done.stderr
    assert any(reason in done.stderr for reason in DENIED), done.stderr
    assert list(out.iterdir()) == []


def test_an_out_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    plan = compile_plan(tmp_path, 24)
    (tmp_path / "a-file").write_text("not a directory\n", encoding="utf-8")
    done = shardplan(
        ["run", str(plan), "--handler", "pseudo", "--out", "a-file/run", "--quiet"], tmp_path
    )
    _no_traceback(done)
    assert done.returncode == 2, done.stderr
    assert "a-file/run" in done.stderr


def _old_plan(directory: Path) -> bytes:
    """A first plan at `faults.plan.json`, then the source grows so the next compile differs."""
    plan = compile_plan(directory, 30)
    with (directory / "script.jsonl").open("a", encoding="utf-8") as stream:
        for n in range(31, 20_000):
            stream.write(f'{{"line_id": "line_{n}", "text": "Line {n}."}}\n')
    return plan.read_bytes()


def _temp_files(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir() if path.name.endswith(".tmp"))


def test_compile_into_a_read_only_directory_keeps_the_old_plan(tmp_path: Path) -> None:
    old = _old_plan(tmp_path)
    with read_only(tmp_path):
        done = shardplan(["compile", "faults.shardplan.yaml", "-o", "faults.plan.json"], tmp_path)
    _no_traceback(done)
    assert done.returncode == 2, done.stderr
    assert "faults.plan.json" in done.stderr
    assert any(reason in done.stderr for reason in DENIED), done.stderr
    assert (tmp_path / "faults.plan.json").read_bytes() == old
    assert _temp_files(tmp_path) == []


def _limit_file_size() -> None:
    # A disk that fills up part-way through the plan: writes past 64 KiB fail with EFBIG.
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_a_disk_full_mid_write_keeps_the_old_plan_whole(tmp_path: Path) -> None:
    old = _old_plan(tmp_path)
    done = shardplan(
        ["compile", "faults.shardplan.yaml", "-o", "faults.plan.json"],
        tmp_path,
        preexec_fn=_limit_file_size,
    )
    _no_traceback(done)
    assert done.returncode == 2, done.stderr
    assert "cannot write faults.plan.json" in done.stderr
    assert (tmp_path / "faults.plan.json").read_bytes() == old
    assert _temp_files(tmp_path) == [], "the half-written temporary file was left behind"


def test_compile_killed_at_random_moments_never_leaves_half_a_plan(tmp_path: Path) -> None:
    old = _old_plan(tmp_path)
    target = tmp_path / "faults.plan.json"
    reference = shardplan(["compile", "faults.shardplan.yaml", "-o", "new.plan.json"], tmp_path)
    assert reference.returncode == 0, reference.stderr
    new = (tmp_path / "new.plan.json").read_bytes()
    assert new != old
    args = [*shardplan_command(), "compile", "faults.shardplan.yaml", "-o", target.name]
    started = time.monotonic()
    subprocess.run(args, cwd=tmp_path, env=cli_env(), capture_output=True, check=True)
    full_s = time.monotonic() - started
    rng = random.Random(SEED)
    seen: set[str] = set()
    for _ in range(KILL_TRIALS):
        target.write_bytes(old)
        process = subprocess.Popen(
            args, cwd=tmp_path, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.3, 1.0) * full_s)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        now = target.read_bytes()
        assert now in (old, new), f"a half-written plan: {len(now)} bytes"
        seen.add("old" if now == old else "new")
        for leftover in _temp_files(tmp_path):
            # A SIGKILL cannot clean up; the leftover is a hidden temporary, never the plan.
            assert leftover.startswith(f".{target.name}.")
            (tmp_path / leftover).unlink()
    assert seen, "no trial ran"


def test_an_atomically_written_plan_gets_the_usual_file_mode(tmp_path: Path) -> None:
    """The temporary file behind the atomic write is 0600; the plan must not stay that way."""
    plan = compile_plan(tmp_path, 6)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(plan.stat().st_mode) == 0o666 & ~umask
