"""Running `shardplan` as a user does: a subprocess with a hard time limit.

A hang is a failure like a crash, so every run has a timeout and a timed-out
process is killed, never waited for.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "examples" / "golden"
CASE_TIMEOUT_S = 5.0
"""The issue's bound for one hostile case, on the command's own CPU time."""
HANG_TIMEOUT_S = 20.0
"""Wall time after which a command counts as hung and is killed (generous: CI machines are busy)."""

SUBCOMMAND_MODULES = {
    "validate": "shardplan_compiler.commands.validate",
    "compile": "shardplan_compiler.commands.compile",
    "show": "shardplan_compiler.commands.show",
    "diff": "shardplan_compiler.commands.diff",
    "run": "shardplan_executor.cli",
    "validate-source": "shardplan_compiler.compile_spec",
    "import": "shardplan_compiler.commands.import_rentl",
}


def shardplan_command() -> list[str]:
    """The installed console script next to this interpreter, else `python -m`."""
    script = Path(sys.executable).parent / "shardplan"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "shardplan_compiler"]


def available(feature: str) -> bool:
    """Whether the module behind a subcommand (or `validate --source`) is installed yet."""
    return importlib.util.find_spec(SUBCOMMAND_MODULES[feature]) is not None


@dataclass(frozen=True)
class Outcome:
    """What one CLI run did; `returncode` is None when it was killed for taking too long.

    `cpu_seconds` is the child's own user + system time: the 5 s bound is on
    the work the command does, which other jobs on a busy machine cannot
    inflate the way they inflate wall time.
    """

    returncode: int | None
    output: str
    seconds: float
    cpu_seconds: float = 0.0

    @property
    def hung(self) -> bool:
        return self.returncode is None


def run_cli(
    args: Sequence[str],
    cwd: Path,
    timeout_s: float = HANG_TIMEOUT_S,
    extra_env: Mapping[str, str] | None = None,
) -> Outcome:
    """`shardplan ARGS` in `cwd`; stdout and stderr together, decoded leniently."""
    env = dict(os.environ)
    env.update(extra_env or {})
    env.pop("GITHUB_ACTIONS", None)  # plain text diagnostics
    env["COLUMNS"] = "200"
    started = time.monotonic()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(
            [*shardplan_command(), *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        while pid == 0 and time.monotonic() - started < timeout_s:
            time.sleep(0.01)
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        returncode: int | None
        if pid == 0:
            process.kill()
            _, status, usage = os.wait4(process.pid, 0)
            returncode = None
        else:
            returncode = os.waitstatus_to_exitcode(status)
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        output = out.read().decode("utf-8", "replace")
    return Outcome(returncode, output, time.monotonic() - started, usage.ru_utime + usage.ru_stime)
