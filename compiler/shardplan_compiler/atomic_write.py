"""Write a file so that readers see the old file or the whole new one, never half of it.

Shared by `compile -o` (plans), `import rentl -o` (specs) and `show -o`/`diff -o`
(reports and review pages): all write files that tools and people read while
they may be being replaced.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

T = TypeVar("T")


def write_atomically(target: Path, write: Callable[[BinaryIO], T]) -> T:
    """Call `write` on a temporary file beside `target`, then rename it into place.

    Returns what `write` returns. The temporary file is removed if anything
    fails, so an interrupted write leaves `target` as it was.
    """
    directory = target.parent if str(target.parent) else Path(".")
    # Not a `with` block: the file must outlive the handle to be renamed.
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115
        "w+b", dir=directory, prefix=f".{target.name}.", suffix=".tmp", delete=False
    )
    try:
        # NamedTemporaryFile creates 0600; the files written here are shared and reviewed, so
        # they get the mode any new file of the user gets (0644 under the usual umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(handle.name, 0o666 & ~umask)
        with handle:
            result = write(handle)  # type: ignore[arg-type]
            handle.flush()
            # On disk before the rename, or a power loss could leave an empty file in place.
            os.fsync(handle.fileno())
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return result


def write_text_atomically(target: Path, text: str) -> None:
    """`text` as UTF-8 into `target`, atomically."""
    data = text.encode("utf-8")
    write_atomically(target, lambda handle: handle.write(data))
