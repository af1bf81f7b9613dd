"""One fuzz target in its own process: `python -m tests.fuzz.worker TARGET ARGS…`.

ARGS are libFuzzer's (`-max_total_time=`, `-runs=`, `-artifact_prefix=`,
corpus directories...). Under atheris our packages are instrumented for
coverage; a target that raises, or an input that runs past `-timeout`, ends
the process with an artifact to reproduce it.

Where atheris is not installed (it ships for Linux), the same targets run
under hypothesis with `st.binary()` mixed with the seeds — no coverage
guidance, but the same budget, the same artifacts and the same summary
line, so the runner and `make test` work everywhere.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

FORCE_HYPOTHESIS = os.environ.get("SHARDPLAN_FUZZ_DRIVER") == "hypothesis"
"""Set by the test of the fallback driver, so it runs where atheris is installed too."""

try:
    import atheris
except ImportError:  # exercised only where atheris is missing
    atheris = None
if FORCE_HYPOTHESIS:
    atheris = None

if atheris is not None:
    with atheris.instrument_imports(
        include=["shardplan_compiler", "shardplan_schemas", "shardplan_executor"]
    ):
        from tests.fuzz.targets import HARNESS_TARGETS, TARGETS
else:
    from tests.fuzz.targets import HARNESS_TARGETS, TARGETS


def _option(args: list[str], name: str, default: str) -> str:
    for arg in args:
        if arg.startswith(f"-{name}="):
            return arg.split("=", 1)[1]
    return default


def fuzz_with_hypothesis(name: str, args: list[str]) -> int:
    """The fallback driver: hypothesis `st.binary()` and the seeds, for the time budget."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    target = {**TARGETS, **HARNESS_TARGETS}[name]
    seconds = float(_option(args, "max_total_time", "10"))
    max_len = int(_option(args, "max_len", "4096"))
    prefix = _option(args, "artifact_prefix", "./")
    corpus = [Path(arg) for arg in args if not arg.startswith("-")]
    seeds = [path.read_bytes() for folder in corpus for path in sorted(folder.iterdir())]
    deadline = time.monotonic() + seconds
    runs = 0

    @settings(
        max_examples=max(100, int(seconds * 500)),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.one_of(st.sampled_from(seeds or [b""]), st.binary(max_size=max_len)))
    def drive(data: bytes) -> None:
        nonlocal runs
        if time.monotonic() > deadline:
            return
        runs += 1
        try:
            target(data)
        except Exception:
            Path(f"{prefix}crash-{hashlib.sha1(data).hexdigest()}").write_bytes(data)
            raise

    started = time.monotonic()
    try:
        drive()
    except Exception as error:
        print(f"crash: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(f"Done {runs} runs in {round(time.monotonic() - started)} second(s)", file=sys.stderr)
    return 0


def main() -> None:
    name, args = sys.argv[1], sys.argv[2:]
    if atheris is None:
        sys.exit(fuzz_with_hypothesis(name, args))
    atheris.Setup([sys.argv[0], *args], {**TARGETS, **HARNESS_TARGETS}[name])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
