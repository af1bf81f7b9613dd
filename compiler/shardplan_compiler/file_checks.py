"""Why a path given on the command line cannot be read as an input file.

Only regular files are read: a FIFO with no writer would block forever and a
device may never end, so both are refused up front with a sentence saying so.
"""

from __future__ import annotations

import stat
from pathlib import Path


def unreadable_reason(path: Path) -> str | None:
    """None for a regular file; otherwise the sentence to print after the path."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "does not exist"
    except PermissionError:
        return "cannot be read: permission denied"
    except OSError as error:
        return f"cannot be read: {error.strerror or error}"
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a FIFO, socket or device); write it to a file first"
    return None
