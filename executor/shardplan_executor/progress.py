"""Console progress: a live bar per phase on a terminal, plain lines otherwise.

A few lines of our own rather than a dependency: the bar needs counts, rate
and ETA for one phase at a time, redrawn at most ten times a second, and
nothing tqdm offers beyond that is used here. Errors always print, even with
`--quiet`; progress and summaries do not.
"""

from __future__ import annotations

import time
from typing import TextIO

BAR_WIDTH = 24
REDRAW_S = 0.1


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


class Progress:
    """Shows one phase's progress at a time on `stream` (normally standard error)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        quiet: bool = False,
        live: bool | None = None,
        report_stream: TextIO | None = None,
    ) -> None:
        self._stream = stream
        self._report = stream if report_stream is None else report_stream
        self._quiet = quiet
        self._live = stream.isatty() if live is None else live
        self._phase, self._total, self._done, self._failed = "", 0, 0, 0
        self._reused = 0
        self._started = self._drawn = 0.0

    def info(self, text: str) -> None:
        """A plain status line (not shown with --quiet)."""
        if not self._quiet:
            self._line(text)

    def report(self, text: str) -> None:
        """A line of the command's result (`--dry-run`): on standard output, even with --quiet."""
        self._report.write(text + "\n")
        self._report.flush()

    def error(self, text: str) -> None:
        """An error line, always shown."""
        self._line(text)

    def _line(self, text: str) -> None:
        if self._live and self._phase and not self._quiet:
            self._stream.write("\r\x1b[K")
        self._stream.write(text + "\n")
        self._stream.flush()
        if self._live and self._phase and not self._quiet:
            self._draw(force=True)

    def start_phase(
        self, phase: str, total: int, resumed: int, cap: int, *, reused: int = 0
    ) -> None:
        """`total` units to run; `reused` come from earlier runs and are counted apart."""
        self._phase, self._total, self._done, self._failed = phase, total, 0, 0
        self._reused = 0
        self._started = time.monotonic()
        notes = [f"{reused} reused"] if reused else []
        notes += [f"{resumed} already done"] if resumed else []
        note = f" ({', '.join(notes)})" if notes else ""
        if not self._live:
            self.info(f"{phase}: {total} unit(s) to run, up to {cap} at once{note}")
        else:
            self._draw(force=True)

    def advance(self, done: int = 0, failed: int = 0, reused: int = 0) -> None:
        self._done += done
        self._failed += failed
        self._reused += reused
        if self._live:
            self._draw()

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._quiet or (not force and now - self._drawn < REDRAW_S):
            return
        self._drawn = now
        finished = self._done + self._failed
        elapsed = max(now - self._started, 1e-9)
        rate = finished / elapsed
        eta = _clock((self._total - finished) / rate) if rate > 0 else "?"
        filled = BAR_WIDTH * finished // self._total if self._total else BAR_WIDTH
        failed = f" {self._failed} failed" if self._failed else ""
        reused = f" +{self._reused} reused" if self._reused else ""
        self._stream.write(
            f"\r\x1b[K{self._phase:<14} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
            f"{finished}/{self._total}{failed}{reused} {rate:.1f}/s ETA {eta}"
        )
        self._stream.flush()

    def end_phase(self, summary: str) -> None:
        if self._live and not self._quiet:
            self._draw(force=True)
            self._stream.write("\n")
        self._phase = ""
        self.info(summary)
