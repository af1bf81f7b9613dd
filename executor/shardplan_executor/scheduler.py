"""The sliding window: a phase's units, at most `cap` in flight, retried per the run policy.

As soon as one unit finishes the next one starts, so a slow unit holds back
only its own slot — never a whole wave. Results are handed to the sink in
batches (whatever finished together), so the sink can journal a batch with
one write. Failures are counted in completion order: after
`max_consecutive_failures` failed units in a row the phase aborts at once and
every pending and running unit is cancelled.

A unit starts eagerly: its first step runs at once, in the window, and only a
unit that suspends (a handler awaiting a model, a sync handler's thread, a
retry's backoff) becomes an `asyncio.Task` that holds a slot. A unit that
finishes without suspending (a handler with nothing to await, a cache hit)
never costs a task, a wake-up and a `wait` (about a third of such a unit's
time, issue 14); this is what Python 3.12's eager task factory does, made here
for 3.11. Eager units are handed to the sink `EAGER_BATCH` at a time, and the
window then yields to the event loop, so group commit, signals and the
suspended units' wake-ups are never starved.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import time
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from shardplan_executor.store import Stored
from shardplan_executor.units import Unit
from shardplan_schemas.plan import RunPolicy


class Success(NamedTuple):
    """A unit whose handler returned records (a tuple: one is made per unit)."""

    unit: Unit
    output: Stored
    """Where its records were appended (as soon as the handler returned)."""
    attempt: int
    duration_ms: int


class Failure(NamedTuple):
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


EAGER_BATCH = 256
"""Units finished eagerly before the window hands them to the sink and yields to the loop."""

Outcome = Success | Failure


class _Resumed:
    """Awaiting this continues `coro`, a coroutine already stepped once that yielded `pending`.

    The task that awaits it sees `pending` first (the future the coroutine
    waits on), then every later step is passed through: what the task sends
    or throws (a cancellation) goes to `coro`, what `coro` yields goes to the
    task. This is `yield from` for a coroutine whose first step already ran.
    """

    def __init__(self, coro: Coroutine[object, object, Outcome], pending: object) -> None:
        self._coro = coro
        self._pending = pending

    def __await__(self) -> Generator[object, object, Outcome]:
        coro, pending = self._coro, self._pending
        while True:
            try:
                sent = yield pending
            except BaseException as error:  # a cancellation, thrown in by the task
                try:
                    pending = coro.throw(error)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]
            else:
                try:
                    pending = coro.send(sent)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]


async def _continue(coro: Coroutine[object, object, Outcome], pending: object) -> Outcome:
    return await _Resumed(coro, pending)


def _start_unit(
    coro: Coroutine[object, object, Outcome],
) -> Outcome | asyncio.Task[Outcome]:
    """Run the unit's first step now; its outcome, or the task that goes on with it.

    The step runs in a copy of the context, which the task keeps, as a task
    created the usual way would.
    """
    context = contextvars.copy_context()
    try:
        pending = context.run(coro.send, None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    loop = asyncio.get_running_loop()
    return loop.create_task(_continue(coro, pending), context=context)


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
    running: set[asyncio.Task[Outcome]] = set()
    completed = failed = consecutive = 0
    aborted = False
    try:
        while next_unit is not None or running:
            outcomes: list[Outcome] = []
            while next_unit is not None and len(running) < cap and len(outcomes) < EAGER_BATCH:
                unit, next_unit = next_unit, next(pending, None)
                sink.started(unit)
                started = _start_unit(_attempt_unit(unit, call, policy, timeout_s, sink, rng))
                if isinstance(started, asyncio.Task):
                    running.add(started)
                else:
                    outcomes.append(started)
            if outcomes:
                done = {task for task in running if task.done()}
                running -= done
            else:
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            outcomes.extend(task.result() for task in done)
            outcomes.sort(key=lambda o: o.unit.order)
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
            if not done:  # only eager units: let the loop run what waits on it
                await asyncio.sleep(0)
    finally:
        cancelled = (next_unit is not None) + sum(1 for _ in pending) + len(running)
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
    return WindowResult(completed, failed, cancelled, aborted)
