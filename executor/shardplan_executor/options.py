"""What `shardplan run` was given, and how a run ends (exit codes, `RunError`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

OK, FAILED, USAGE = 0, 1, 2
INTERRUPTED = 130  # the shell's convention for a process ended by Ctrl-C


@dataclass(frozen=True)
class RunOptions:
    """Everything `shardplan run` was given."""

    plan_path: Path
    handler: str
    out_dir: Path | None = None
    backend: Literal["local", "dask"] = "local"
    scheduler_address: str | None = None
    source: Path | None = None
    quiet: bool = False
    unit_timeout_s: float | None = None
    fsync: bool = True
    dask_processes: bool = True
    dask_workers: int | None = None
    reuse: tuple[Path, ...] = ()
    """Earlier run directories to take unchanged units' outputs from (`--reuse`)."""
    dry_run: bool = False
    """Say what would run and what would be reused; run nothing, write nothing."""


class RunError(Exception):
    """The run cannot start or go on; `exit_code` says why (1 input, 2 usage or I/O)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
