"""Paired, interleaved measurement of commands run as subprocesses.

Each benchmark compares a candidate with its alternative on the same input in
the same run, alternating them (ABBA order) so that machine noise, thermal
state and page cache affect both alike; the answer is a ratio, which travels
between machines far better than an absolute time. Every command is a fresh
subprocess, so start-up cost counts exactly as it does for a user.

Peak memory is the child's own `ru_maxrss` as returned by `os.wait4` (the
per-child form of `getrusage(RUSAGE_CHILDREN)`), so one command's peak is never
confused with another's.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

KIB = 1024
MIB = 1024 * 1024


@dataclass(frozen=True)
class Command:
    """One command line to time, with where its output goes."""

    label: str
    argv: tuple[str, ...]
    cwd: Path | None = None
    env: Mapping[str, str] | None = None
    stdout_path: Path | None = None
    """Where standard output goes; None discards it (a terminal would slow the command)."""
    ok_returncodes: frozenset[int] = frozenset({0})


@dataclass(frozen=True)
class Sample:
    """One timed run of a command."""

    seconds: float
    peak_rss_bytes: int
    """The largest RSS of the command or of any child it waited for (not their sum)."""
    returncode: int
    cpu_seconds: float = 0.0
    """User + system CPU time of the command and the children it waited for."""


class CommandFailed(RuntimeError):
    """A measured command exited with an unexpected code: its numbers mean nothing."""

    def __init__(self, command: Command, returncode: int, stderr: str) -> None:
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        super().__init__(
            f"{command.label} exited {returncode}: {' '.join(command.argv)}\n{tail}".rstrip()
        )
        self.command = command
        self.returncode = returncode


def run_once(command: Command) -> Sample:
    """Run `command` once; wall time from spawn to exit, and its own peak RSS."""
    env = dict(os.environ if command.env is None else command.env)
    with tempfile.TemporaryFile() as stderr_file:
        stdout_target = (
            command.stdout_path.open("wb")
            if command.stdout_path is not None
            else open(os.devnull, "wb")  # noqa: SIM115 - closed below
        )
        try:
            started = time.perf_counter()
            process = subprocess.Popen(
                command.argv,
                cwd=command.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=stdout_target,
                stderr=stderr_file,
            )
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - started
        finally:
            stdout_target.close()
        returncode = os.waitstatus_to_exitcode(status)
        process.returncode = returncode  # reaped by wait4: tell Popen not to wait again
        if returncode not in command.ok_returncodes:
            stderr_file.seek(0)
            raise CommandFailed(command, returncode, stderr_file.read().decode("utf-8", "replace"))
    # Linux reports ru_maxrss in KiB.
    return Sample(
        seconds=seconds,
        peak_rss_bytes=usage.ru_maxrss * KIB,
        returncode=returncode,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
    )


def _process_tree(root: int) -> list[int]:
    """`root` and all its descendants, from /proc (Linux)."""
    pids = [root]
    index = 0
    while index < len(pids):
        pid = pids[index]
        index += 1
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as children:
                    pids.extend(int(child) for child in children.read().split())
        except OSError:
            continue
    return pids


def _tree_pss_bytes(root: int) -> int:
    """Proportional set size of a process tree: shared pages counted once, split fairly."""
    total = 0
    for pid in _process_tree(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
                for line in rollup:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * KIB
                        break
        except OSError:
            continue
    return total


def peak_tree_memory(command: Command, interval_s: float = 0.01) -> int:
    """Peak PSS of the command's whole process tree, sampled every `interval_s` (untimed run).

    `ru_maxrss` sees one process at a time; a command that forks workers uses
    their memory at the same time as its own. PSS counts pages shared after
    a fork once. Sampling can miss a spike shorter than the interval, so this
    runs apart from the timed runs, whose timing the sampler would disturb.
    """
    if not os.path.exists("/proc/self/smaps_rollup"):
        return 0
    env = dict(os.environ if command.env is None else command.env)
    peak = 0
    with tempfile.TemporaryFile() as stderr_file:
        process = subprocess.Popen(
            command.argv,
            cwd=command.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr_file,
        )
        while process.poll() is None:
            peak = max(peak, _tree_pss_bytes(process.pid))
            time.sleep(interval_s)
        if process.returncode not in command.ok_returncodes:
            stderr_file.seek(0)
            raise CommandFailed(
                command, process.returncode, stderr_file.read().decode("utf-8", "replace")
            )
    return peak


@dataclass(frozen=True)
class PairedResult:
    """Samples of a candidate and its alternative, taken alternately in one run."""

    candidate: Command
    alternative: Command
    candidate_samples: tuple[Sample, ...]
    alternative_samples: tuple[Sample, ...]

    @property
    def candidate_median(self) -> float:
        return statistics.median(s.seconds for s in self.candidate_samples)

    @property
    def alternative_median(self) -> float:
        return statistics.median(s.seconds for s in self.alternative_samples)

    @property
    def ratio(self) -> float:
        """Median candidate time over median alternative time."""
        return self.candidate_median / self.alternative_median

    @property
    def pair_ratios(self) -> list[float]:
        """The ratio within each pair: its spread shows how far to trust `ratio`."""
        return [
            c.seconds / a.seconds
            for c, a in zip(self.candidate_samples, self.alternative_samples, strict=True)
        ]

    @property
    def candidate_peak_rss(self) -> int:
        return max(s.peak_rss_bytes for s in self.candidate_samples)

    @property
    def alternative_peak_rss(self) -> int:
        return max(s.peak_rss_bytes for s in self.alternative_samples)


def measure_paired(
    candidate: Command, alternative: Command, repeats: int, warmup: int = 1
) -> PairedResult:
    """Run both commands `repeats` times each, alternating, after `warmup` unrecorded pairs.

    Pairs alternate which command goes first (ABBA...), so neither always
    profits from a cache the other just warmed.
    """
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    for _ in range(warmup):
        run_once(candidate)
        run_once(alternative)
    candidate_samples: list[Sample] = []
    alternative_samples: list[Sample] = []
    for index in range(repeats):
        if index % 2 == 0:
            candidate_samples.append(run_once(candidate))
            alternative_samples.append(run_once(alternative))
        else:
            alternative_samples.append(run_once(alternative))
            candidate_samples.append(run_once(candidate))
    return PairedResult(
        candidate=candidate,
        alternative=alternative,
        candidate_samples=tuple(candidate_samples),
        alternative_samples=tuple(alternative_samples),
    )


def measure_repeated(command: Command, repeats: int, warmup: int = 1) -> tuple[Sample, ...]:
    """Run one command `repeats` times (for figures that are not ratios, e.g. units/s)."""
    for _ in range(warmup):
        run_once(command)
    return tuple(run_once(command) for _ in range(repeats))


Comparison = Literal["<=", ">="]


@dataclass(frozen=True)
class Row:
    """One line of the report: a measured figure, its target, and how it was obtained."""

    benchmark: str
    value: float | None
    """None when the benchmark could not run (the feature is missing or a command failed)."""
    unit: str
    comparison: Comparison | None = None
    target: float | None = None
    spread: tuple[float, float] | None = None
    details: str = ""
    notes: tuple[str, ...] = ()
    """Longer findings printed under the table, e.g. where the time goes when a target is missed."""
    extra: Mapping[str, float | int | str] = field(default_factory=dict)
    """Figures kept for the JSON report (medians, peaks, sizes)."""

    @property
    def met(self) -> bool | None:
        """Whether the target is met; None when there is no target or no value."""
        if self.value is None or self.target is None or self.comparison is None:
            return None
        if self.comparison == "<=":
            return self.value <= self.target
        return self.value >= self.target


def spread_of(values: Sequence[float]) -> tuple[float, float]:
    """The smallest and largest value: with few samples, the honest range."""
    return (min(values), max(values))


def format_number(value: float) -> str:
    """Three significant digits, without scientific notation for everyday magnitudes."""
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def render_table(rows: Sequence[Row]) -> str:
    """A fixed-width table of the rows, then each row's details."""
    headers = ("benchmark", "measured", "spread", "target", "status")
    body: list[tuple[str, str, str, str, str]] = []
    for row in rows:
        measured = "-" if row.value is None else f"{format_number(row.value)} {row.unit}".strip()
        spread = (
            ""
            if row.spread is None
            else f"{format_number(row.spread[0])}-{format_number(row.spread[1])}"
        )
        target = (
            ""
            if row.target is None or row.comparison is None
            else f"{'≤' if row.comparison == '<=' else '≥'} {format_number(row.target)}"
        )
        status = {True: "ok", False: "MISSED", None: "-"}[row.met]
        if row.value is None:
            status = "not run"
        body.append((row.benchmark, measured, spread, target, status))
    widths = [max(len(line[i]) for line in (headers, *body)) for i in range(len(headers))]
    out = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
           for line in (headers, *body)]  # fmt: skip
    out.insert(1, "  ".join("-" * width for width in widths))
    notes: list[str] = []
    for row in rows:
        if row.details:
            notes.append(f"- {row.benchmark}: {row.details}")
        notes.extend(f"    {note}" for note in row.notes)
    return "\n".join(out + (["", *notes] if notes else []))
