"""Paths written into artifacts: relative to the artifact's directory, with `/` separators.

Plans and imported specs move with their inputs, and the same inputs give the
same bytes on every machine, so no absolute path is written where a relative
one can be. Its own module so that `import rentl` does not load the compiler.
"""

from __future__ import annotations

import os
from pathlib import Path


def relative_path(path: Path, base: Path) -> str:
    """`path` relative to the directory `base`, with `/` separators (absolute if impossible)."""
    target = os.path.abspath(path)
    try:
        relative = os.path.relpath(target, os.path.abspath(base))
    except ValueError:  # another drive on Windows
        return Path(target).as_posix()
    return relative.replace(os.sep, "/")
