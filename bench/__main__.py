"""`python -m bench [validate|compile|executor …] [--quick]`: run benchmarks, print ratios.

Inputs are generated under a temporary directory and removed afterwards
(`--workdir` keeps them). `--json` writes the figures for docs/benchmarks.md;
`--check` makes a missed target or a benchmark that could not run exit 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from bench import compile as compile_bench
from bench import executor as executor_bench
from bench import executor_scale as executor_scale_bench
from bench import rerun as rerun_bench
from bench import validate as validate_bench
from bench.context import SIZES, BenchContext, SizeName
from bench.harness import Row, render_table

BENCHMARKS: dict[str, Callable[[BenchContext], list[Row]]] = {
    "validate": validate_bench.run,
    "compile": compile_bench.run,
    "executor": executor_bench.run,
    "rerun": rerun_bench.run,
    "executor-scale": executor_scale_bench.run,
}


def machine_summary() -> str:
    """What the numbers were measured on: they are only comparable on like machines."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def wait_for_quiet(limit_s: float, threshold: float = 1.0) -> None:
    """Wait (up to `limit_s`) until the machine is quiet: ratios taken under load are skewed."""
    deadline = time.monotonic() + limit_s
    while os.getloadavg()[0] >= threshold and time.monotonic() < deadline:
        time.sleep(5)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "benchmarks",
        nargs="*",
        metavar="BENCHMARK",
        help=f"any of {', '.join(BENCHMARKS)} (default: all)",
    )
    parser.add_argument("--quick", action="store_true", help="smaller inputs, under a minute")
    parser.add_argument(
        "--size", choices=list(SIZES), default=None, help="input size (overrides --quick)"
    )
    parser.add_argument("--workdir", type=Path, help="generate inputs here and keep them")
    parser.add_argument("--json", type=Path, dest="json_path", help="also write the rows as JSON")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to SECONDS for the 1-minute load average to fall below 1",
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when a target is missed or a benchmark fails"
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.benchmarks if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    size_name: SizeName = args.size or ("quick" if args.quick else "full")
    selected: list[str] = args.benchmarks or list(BENCHMARKS)
    wait_for_quiet(args.wait_quiet)
    started = time.perf_counter()
    print(f"shardplan benchmarks, size {size_name}: {machine_summary()}", flush=True)
    load_before = os.getloadavg()[0]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="shardplan-bench-") as scratch:
        workdir = args.workdir.resolve() if args.workdir else Path(scratch)
        for name in selected:
            directory = workdir / name
            directory.mkdir(parents=True, exist_ok=True)
            ctx = BenchContext(
                size=SIZES[size_name], workdir=directory, pycache=workdir / ".pycache"
            )
            began = time.perf_counter()
            print(f"running {name} …", file=sys.stderr, flush=True)
            rows.extend(BENCHMARKS[name](ctx))
            print(f"  {name} took {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    print()
    print(render_table(rows))
    elapsed = time.perf_counter() - started
    load_after = os.getloadavg()[0]
    # Other work on the machine skews ratios (it slows start-up-bound tools most): say so.
    print(
        f"\ntotal {elapsed:.0f} s; 1-minute load average {load_before:.1f} before, {load_after:.1f} after"
    )
    if args.json_path is not None:
        report = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
            "machine": machine_summary(),
            "size": size_name,
            "seconds": round(elapsed, 1),
            "load_average": [round(load_before, 2), round(load_after, 2)],
            "rows": [{**asdict(row), "met": row.met} for row in rows],
        }
        args.json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    if args.check and any(row.met is False or row.value is None for row in rows):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
