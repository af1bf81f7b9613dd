"""The sliding window: a phase's units, at most `cap` in flight, retried per the run policy.

As soon as one unit finishes the next one starts, so a slow unit holds back
only its own slot — never a whole wave. Results are handed to the sink in
batches (whatever finished together), so the sink can journal a batch with
one write. Failures are counted in completion order: after
`max_consecutive_failures` failed units in a row the phase aborts at once and
every pending and running unit is cancelled.
"""

from __future__ import annotations

import asyncio
import random
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from shardplan_executor.store import Stored
from shardplan_executor.units import Unit
from shardplan_schemas.plan import RunPolicy


@dataclass(frozen=True)
class Success:
    """A unit whose handler returned records."""

    unit: Unit
    output: Stored
    """Where its records were appended (as soon as the handler returned)."""
    attempt: int
    duration_ms: int


@dataclass(frozen=True)
class Failure:
    """A unit that failed every attempt."""

    unit: Unit
    attempts: int
    error: str
    traceback: str


@dataclass(frozen=True)
class WindowResult:
    """How a phase's window ended."""

    completed: int
    failed: int
    cancelled: int
    aborted: bool


class WindowSink(Protocol):
    """Receives what happens in the window, in the event loop's thread."""

    def started(self, unit: Unit) -> None: ...

    def retried(self, unit: Unit, attempt: int, error: str, delay_ms: int) -> None: ...

    def succeeded(self, batch: Sequence[Success]) -> None: ...

    def failed(self, failure: Failure) -> None: ...


def describe_error(error: BaseException) -> str:
    """`Type: message`, as shown on the console and in events."""
    message = str(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def backoff_ms(policy: RunPolicy, retry: int, rng: random.Random) -> int:
    """Delay before retry number `retry` (1-based): exponential, capped, with equal jitter.

    The delay doubles from `backoff_ms` up to `max_backoff_ms`; half of it is
    random, so units that failed together do not all retry at the same instant.
    """
    ceiling = min(policy.backoff_ms << (retry - 1), policy.max_backoff_ms)
    return ceiling // 2 + rng.randint(0, ceiling - ceiling // 2)


async def _attempt_unit(
    unit: Unit,
    call: Callable[[Unit], Awaitable[Stored]],
    policy: RunPolicy,
    timeout_s: float | None,
    sink: WindowSink,
    rng: random.Random,
) -> Success | Failure:
    attempt = 0
    while True:
        attempt += 1
        started = time.monotonic()
        try:
            if timeout_s is None:
                output = await call(unit)
            else:
                try:
                    output = await asyncio.wait_for(call(unit), timeout_s)
                except TimeoutError:
                    raise TimeoutError(
                        f"the handler did not finish within --unit-timeout {timeout_s:g} s"
                    ) from None
        except Exception as error:
            message = describe_error(error)
            if attempt > policy.max_retries:
                return Failure(unit, attempt, message, traceback.format_exc())
            delay = backoff_ms(policy, attempt, rng)
            sink.retried(unit, attempt, message, delay)
            await asyncio.sleep(delay / 1000)
            continue
        duration = int((time.monotonic() - started) * 1000)
        return Success(unit, output, attempt, duration)


async def run_window(
    units: Iterable[Unit],
    *,
    cap: int,
    policy: RunPolicy,
    call: Callable[[Unit], Awaitable[Stored]],
    sink: WindowSink,
    timeout_s: float | None = None,
    rng: random.Random | None = None,
) -> WindowResult:
    """Run `units` with at most `cap` in flight; see the module docstring.

    `units` is consumed as the window moves (a phase's units are made on demand).

    An exception raised by the sink (e.g. the disk is full) cancels every
    running unit and propagates.
    """
    rng = rng or random.Random()
    pending = iter(units)
    next_unit: Unit | None = next(pending, None)
    running: set[asyncio.Task[Success | Failure]] = set()
    completed = failed = consecutive = 0
    aborted = False
    try:
        while next_unit is not None or running:
            while next_unit is not None and len(running) < cap:
                unit, next_unit = next_unit, next(pending, None)
                sink.started(unit)
                running.add(
                    asyncio.ensure_future(_attempt_unit(unit, call, policy, timeout_s, sink, rng))
                )
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            outcomes = sorted((task.result() for task in done), key=lambda o: o.unit.order)
            batch: list[Success] = []
            for outcome in outcomes:
                if isinstance(outcome, Success):
                    batch.append(outcome)
                    consecutive = 0
                    continue
                if batch:
                    sink.succeeded(batch)
                    completed += len(batch)
                    batch = []
                sink.failed(outcome)
                failed += 1
                consecutive += 1
                # Units that finished together with the last allowed failure still count.
                aborted = aborted or consecutive >= policy.max_consecutive_failures
            if batch:
                sink.succeeded(batch)
                completed += len(batch)
            if aborted:
                break
    finally:
        cancelled = (next_unit is not None) + sum(1 for _ in pending) + len(running)
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
    return WindowResult(completed, failed, cancelled, aborted)
