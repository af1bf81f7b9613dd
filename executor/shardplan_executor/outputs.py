"""Atomic, durable file writes.

A unit's output must be either absent or complete on disk, whatever moment
the process dies at: write a temporary file in the same directory, fsync it,
then `os.replace` it over the final name (atomic on POSIX), then fsync the
directory so the rename itself survives a power loss.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path


def sha256_bytes(data: bytes) -> str:
    """Lowercase hex SHA-256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Lowercase hex SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_all(fd: int, data: bytes) -> None:
    """`os.write` until every byte is written (a write may be short, e.g. at a size limit)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_directory(directory: Path) -> None:
    """Make the directory's entries (a rename, a new file) durable."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms that cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def atomic_write_parts(
    path: Path, parts: Iterable[bytes], *, fsync: bool = True, sync_directory: bool = True
) -> None:
    """`atomic_write` of the concatenation of `parts`, written as they come (a big export)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for part in parts:
            write_all(fd, part)
        if fsync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        temporary.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(temporary, path)
    if fsync and sync_directory:
        fsync_directory(path.parent)


def atomic_write(
    path: Path, data: bytes, *, fsync: bool = True, sync_directory: bool = True
) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one.

    With `fsync=False` the write is still atomic against a killed process (the
    page cache outlives it), just not against a power loss. A caller writing
    many files into one directory may pass `sync_directory=False` and call
    `fsync_directory` once for the batch.
    """
    atomic_write_parts(path, (data,), fsync=fsync, sync_directory=sync_directory)


class OutputWriter:
    """Writes unit outputs atomically (not fsynced: group commit does that), fast.

    The same as `atomic_write(..., fsync=False)` with the folders it made
    remembered, so a phase of a hundred thousand tiny outputs pays one
    `mkdir` per folder, not one per file.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._prefix = str(root) + os.sep
        self._folders: set[str] = set()
        self._pid = os.getpid()

    def write(self, relative: str, data: bytes) -> Path:
        """Write `data` at `relative` (`/`-separated) under the root; the file's path."""
        folder, _, name = relative.rpartition("/")
        directory = self._prefix + folder
        if folder not in self._folders:
            os.makedirs(directory, exist_ok=True)
            self._folders.add(folder)
        target = f"{directory}/{name}"
        temporary = f"{directory}/.{name}.{self._pid}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            write_all(fd, data)
        except BaseException:
            os.close(fd)
            os.unlink(temporary)
            raise
        os.close(fd)
        os.replace(temporary, target)
        return Path(target)
