"""A run directory's records per unit, as a reader outside a run sees them.

Outputs live in segments (`store`), so "the file of unit X" is now a byte
range named by X's journal record. `unit_outputs` gives every journaled
unit's records whose range still has its recorded checksum: what a resume
would count as finished. Tests compare runs with it; a tool can too.
"""

from __future__ import annotations

import os
from pathlib import Path

from shardplan_executor.journal import JOURNAL_NAME, read_journal
from shardplan_executor.outputs import sha256_bytes
from shardplan_executor.store import pread_all, segment_of


def unit_outputs(run_dir: Path) -> dict[str, bytes]:
    """`{unit id: its records as JSON Lines}` for every intact journaled unit, in id order.

    A unit journaled twice (it ran again after its range was damaged) has
    the records of its last intact record.
    """
    found: dict[str, bytes] = {}
    fds: dict[str, int | None] = {}
    try:
        for entry in read_journal(run_dir / JOURNAL_NAME):
            if entry.output is None:
                if entry.records == 0:
                    found[entry.id] = b""
                continue
            if entry.output != segment_of(entry.id):
                continue
            if entry.output not in fds:
                try:
                    fds[entry.output] = os.open(run_dir / entry.output, os.O_RDONLY)
                except OSError:
                    fds[entry.output] = None
            fd = fds[entry.output]
            if fd is None or entry.offset < 0 or entry.length <= 0:
                continue
            data = pread_all(fd, entry.length, entry.offset)
            if sha256_bytes(data) == entry.output_sha256:
                found[entry.id] = data
    finally:
        for fd in fds.values():
            if fd is not None:
                os.close(fd)
    return dict(sorted(found.items()))
