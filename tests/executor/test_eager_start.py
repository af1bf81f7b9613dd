"""Eager unit starts: a unit that never suspends costs no task; one that does goes on as one."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from shardplan_executor.scheduler import Failure, Outcome, _start_unit

SEEN: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")


def _failure(text: str) -> Failure:
    return Failure(unit=None, attempts=1, error=text, traceback="")  # type: ignore[arg-type]


async def _no_suspension() -> Outcome:
    SEEN.set("eager")
    return _failure("done at once")


async def _suspends(future: asyncio.Future[str], log: list[str]) -> Outcome:
    SEEN.set("task")
    try:
        value = await future
    except asyncio.CancelledError:
        log.append("cancelled inside")
        raise
    log.append(SEEN.get())
    return _failure(value)


def test_a_unit_that_never_suspends_finishes_without_a_task_or_leaking_its_context() -> None:
    async def main() -> None:
        started = _start_unit(_no_suspension())
        assert not isinstance(started, asyncio.Task)
        assert isinstance(started, Failure)
        assert started.error == "done at once"
        assert SEEN.get() == "unset"  # the step ran in a copy of the context

    asyncio.run(main())


def test_a_unit_that_suspends_goes_on_as_a_task_with_its_context_and_result() -> None:
    async def main() -> None:
        log: list[str] = []
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        started = _start_unit(_suspends(future, log))
        assert isinstance(started, asyncio.Task)
        assert not started.done()
        future.set_result("resumed")
        outcome = await started
        assert isinstance(outcome, Failure)
        assert outcome.error == "resumed"
        assert log == ["task"]  # the value it set before suspending is still its own

    asyncio.run(main())


def test_cancelling_the_task_reaches_the_suspended_coroutine() -> None:
    async def main() -> None:
        log: list[str] = []
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        started = _start_unit(_suspends(future, log))
        assert isinstance(started, asyncio.Task)
        await asyncio.sleep(0)
        started.cancel()
        with pytest.raises(asyncio.CancelledError):
            await started
        assert log == ["cancelled inside"]

    asyncio.run(main())
