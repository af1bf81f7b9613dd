"""Run fuzz targets in child processes for a time budget and report executions and crashes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .seeds import REPO, write_seeds

RUNS_DONE = re.compile(rb"Done (\d+) runs in (\d+) second")
PROGRESS = re.compile(rb"^#(\d+)\s", re.MULTILINE)
KEPT_CRASHES = Path(tempfile.gettempdir()) / "shardplan-fuzz-crashes"
"""Crash inputs are copied here, out of the run's temporary directory, to be replayed."""
INPUT_TIMEOUT_S = 10
"""One input taking longer than this is a hang: libFuzzer stops and saves it."""
MAX_LEN = 16384


@dataclass(frozen=True)
class FuzzResult:
    target: str
    ok: bool
    executions: int
    seconds: float
    artifact: bytes | None
    log_tail: str


def run_target(
    target: str,
    seconds: float,
    work: Path,
    seed: int | None = None,
    driver: str | None = None,
) -> FuzzResult:
    """Fuzz `target` for `seconds` in a child process; its crash input, if any, in `artifact`."""
    corpus = write_seeds(target, work / f"{target}-corpus")
    artifacts = work / f"{target}-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    args = [
        sys.executable,
        "-m",
        "tests.fuzz.worker",
        target,
        f"-max_total_time={max(1, round(seconds))}",
        f"-timeout={INPUT_TIMEOUT_S}",
        f"-max_len={MAX_LEN}",
        "-rss_limit_mb=2048",
        f"-artifact_prefix={artifacts}/",
        *([f"-seed={seed}"] if seed is not None else []),
        str(corpus),
    ]
    env = dict(os.environ)
    if driver is not None:
        env["SHARDPLAN_FUZZ_DRIVER"] = driver
    done = subprocess.run(
        args,
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=seconds + 120,
        check=False,
    )
    log = done.stdout + done.stderr
    found = RUNS_DONE.search(log)
    crashes = sorted(artifacts.iterdir())
    artifact = crashes[0].read_bytes() if crashes else None
    if crashes:
        KEPT_CRASHES.mkdir(exist_ok=True)
        kept = KEPT_CRASHES / f"{target}-{crashes[0].name}"
        kept.write_bytes(crashes[0].read_bytes())
        log += f"\ncrash input kept at {kept}; replay: python -m tests.fuzz.worker {target} {kept}\n".encode()
    progress = PROGRESS.findall(log)
    return FuzzResult(
        target=target,
        ok=done.returncode == 0 and not crashes and found is not None,
        executions=int(found.group(1)) if found else int(progress[-1]) if progress else 0,
        seconds=float(found.group(2)) if found else 0.0,
        artifact=artifact,
        log_tail=log[-4000:].decode("utf-8", "replace"),
    )


def run_all(targets: list[str], seconds: float, seed: int | None = None) -> list[FuzzResult]:
    with tempfile.TemporaryDirectory(prefix="shardplan-fuzz-") as work:
        return [run_target(target, seconds, Path(work), seed) for target in targets]
