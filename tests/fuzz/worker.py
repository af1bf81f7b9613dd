"""One fuzz target under atheris, in its own process: `python -m tests.fuzz.worker TARGET ARGS…`.

ARGS are libFuzzer's (`-max_total_time=`, `-runs=`, corpus directories...).
Our packages are instrumented for coverage; a target that raises, or an input
that runs past `-timeout`, ends the process with an artifact to reproduce it.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(
    include=["shardplan_compiler", "shardplan_schemas", "shardplan_executor"]
):
    from tests.fuzz.targets import HARNESS_TARGETS, TARGETS


def main() -> None:
    target = {**TARGETS, **HARNESS_TARGETS}[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
