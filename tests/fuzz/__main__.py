"""`python -m tests.fuzz [--seconds N] [TARGET…]`: fuzz every target (or those named) for N s each.

A crash prints the input that caused it; turn it into a case in
`tests/hostile/corpus.py` (small) or a generator there (large) when fixing it.
"""

from __future__ import annotations

import argparse
import sys

from .runner import run_all
from .targets import TARGETS


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="budget per target")
    parser.add_argument("--seed", type=int, default=None, help="libFuzzer seed (default: random)")
    parser.add_argument("targets", nargs="*", choices=[*TARGETS, []], help="default: all")
    options = parser.parse_args()
    failed = 0
    for result in run_all(options.targets or list(TARGETS), options.seconds, options.seed):
        status = "ok" if result.ok else "CRASH"
        print(
            f"{result.target:14} {status:5} {result.executions:>9,} executions in {result.seconds:.0f}s"
        )
        if not result.ok:
            failed += 1
            print(result.log_tail, file=sys.stderr)
            if result.artifact is not None:
                print(
                    f"crashing input ({len(result.artifact)} bytes): {result.artifact[:2000]!r}",
                    file=sys.stderr,
                )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
