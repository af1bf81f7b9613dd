"""Work shared by a parent and one forked child, taken from both ends of a list.

Compiling a million-line script has two long runs of independent pieces of
work: reading the source's segments and fingerprinting the plan's shards.
On two cores a forked child can do part of each, but a fixed split wastes
whatever the machine gives unequally to the two processes (other work on
the machine, the child's start-up). So the pieces are numbered in the order
the parent needs them and claimed one at a time: the parent from the front,
the child from the back, until they meet. Neither waits for the other until
then, and the one that got more of the machine simply does more pieces.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import sys


def can_fork() -> bool:
    """Whether a child can be forked here (Linux: the child inherits the parent's memory)."""
    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()


class TwoEndedClaims:
    """Which pieces `0 .. count - 1` are taken: two integers in shared memory under a lock.

    `front` is the next piece for the parent, `back` one past the next piece
    for the child; both stop where they meet. The parent may keep the
    first `reserved` pieces for itself from the start.
    """

    def __init__(
        self, context: multiprocessing.context.ForkContext, count: int, reserved: int = 0
    ) -> None:
        self._lock = context.Lock()
        self._state = context.RawArray("q", [min(reserved, count), count])

    def front(self) -> int | None:
        """The parent's next piece, or None once the child has taken all that are left."""
        with self._lock:
            front, back = int(self._state[0]), int(self._state[1])
            if front >= back:
                return None
            self._state[0] = front + 1
            return front

    def back(self) -> int | None:
        """The child's next piece, or None once the parent has taken all that are left."""
        with self._lock:
            front, back = int(self._state[0]), int(self._state[1])
            if front >= back:
                return None
            self._state[1] = back - 1
            return back - 1

    def stop(self) -> None:
        """Let the child take no more pieces."""
        with self._lock:
            self._state[1] = self._state[0]
