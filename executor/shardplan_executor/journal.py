"""The run directory's append-only journal of finished units.

`journal.jsonl` holds one record per finished unit: its id, the shard's
sha256, the output file and that file's sha256 (no file, `output: null`, for
a unit that returned no records: there is nothing to write). A record is appended only
after the output is atomically in place, so a journaled unit always has its
output; a run killed between the two merely runs that unit again. A record
torn by a kill (no final newline) is cut off when the journal is reopened.

`run.json` names the plan the directory belongs to, so another plan is refused
instead of mixing two runs' outputs.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from shardplan_executor.fingerprint import UnitFingerprint
from shardplan_executor.outputs import atomic_write, fsync_directory, write_all

JOURNAL_NAME = "journal.jsonl"
MANIFEST_NAME = "run.json"
LOCK_NAME = ".lock"
RUN_FORMAT = "shardplan-run/1"


class JournalRecord(BaseModel):
    """One finished unit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    sha256: str
    output: str | None
    """The output file, relative to the run directory; None when there were no records."""
    output_sha256: str
    records: int
    fingerprint: UnitFingerprint | None = None
    """What the output depended on beyond the shard (see `fingerprint`); None in journals
    written before reuse existed, whose units cannot be reused."""


class RunManifest(BaseModel):
    """What plan a run directory belongs to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str
    plan_id: str


class RunDirectoryError(Exception):
    """The run directory belongs to another plan or cannot be used."""


def claim_run_directory(run_dir: Path, plan_id: str, *, fsync: bool = True) -> bool:
    """Make `run_dir` this plan's run directory; True when it already was (a resume).

    Raises `RunDirectoryError` when it holds another plan's run.
    """
    manifest_path = run_dir / MANIFEST_NAME
    if manifest_path.exists():
        try:
            manifest = RunManifest.model_validate_json(manifest_path.read_bytes())
        except (OSError, ValidationError) as error:
            raise RunDirectoryError(
                f"{manifest_path} is not a shardplan run manifest ({type(error).__name__}); "
                "give another --out"
            ) from None
        if manifest.plan_id != plan_id:
            raise RunDirectoryError(
                f"{run_dir} holds a run of another plan ({manifest.plan_id}); this plan is "
                f"{plan_id}. Give another --out, or delete {run_dir} to start over"
            )
        return True
    if (run_dir / JOURNAL_NAME).exists():
        raise RunDirectoryError(
            f"{run_dir} has a journal but no {MANIFEST_NAME}; it is not a run directory this "
            "executor can resume. Give another --out"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    manifest = RunManifest(format=RUN_FORMAT, plan_id=plan_id)
    atomic_write(manifest_path, manifest.model_dump_json().encode("utf-8") + b"\n", fsync=fsync)
    return False


def _lock(run_dir: Path) -> int:
    """Hold `run_dir/.lock` for this process's life: one run per directory at a time.

    The kernel drops the lock when the process dies, even by `kill -9`.
    """
    fd = os.open(run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RunDirectoryError(
            f"another `shardplan run` is using {run_dir}; wait for it to end"
        ) from None
    return fd


def _remove_temporary_files(run_dir: Path) -> None:
    """Half-written outputs of a killed run (never journaled): remove them."""
    for folder in ("outputs", "export"):
        for path in (run_dir / folder).rglob(".*.tmp"):
            path.unlink(missing_ok=True)


class Journal:
    """Appends finished units to `journal.jsonl` (see `commit` for when it is fsynced).

    Opening it locks the run directory and removes temporary files a killed
    run left behind.
    """

    def __init__(self, run_dir: Path, *, fsync: bool = True) -> None:
        self._lock_fd = _lock(run_dir)
        _remove_temporary_files(run_dir)
        self.path = run_dir / JOURNAL_NAME
        self._fsync = fsync
        self.records = self._read_and_repair()
        # Unbuffered: a failed write (a full disk) leaves nothing behind to flush at close.
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if fsync:
            fsync_directory(run_dir)

    def _read_and_repair(self) -> list[JournalRecord]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) != len(data):
            # A kill tore the last record: drop it so the next append starts clean.
            with self.path.open("r+b") as handle:
                handle.truncate(len(complete))
        records: list[JournalRecord] = []
        for line in complete.splitlines():
            try:
                records.append(JournalRecord.model_validate(json.loads(line)))
            except (ValueError, ValidationError):
                continue  # not ours; the unit simply runs again
        return records

    def append(self, records: Iterable[JournalRecord]) -> None:
        """Write `records` (unbuffered: a killed process cannot lose them)."""
        data = b"".join(r.model_dump_json().encode("utf-8") + b"\n" for r in records)
        if data:
            write_all(self._fd, data)

    def sync(self) -> None:
        """Make every appended record durable against a power loss."""
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)
        os.close(self._lock_fd)
