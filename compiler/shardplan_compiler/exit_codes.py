"""Process exit codes shared by every subcommand (DESIGN §6).

CI gates and pre-commit tell "the input is wrong" (fix the spec) from "the
command could not run" (fix the invocation) by these numbers alone.
"""

from __future__ import annotations

from typing import Final

OK: Final = 0
"""Clean; warnings are allowed unless `--strict` is given."""
INPUT_ERRORS: Final = 1
"""The input has errors (or warnings under `--strict`)."""
USAGE: Final = 2
"""Usage or I/O trouble: a bad option, a missing file, a directory."""
