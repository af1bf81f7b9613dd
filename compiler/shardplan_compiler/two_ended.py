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
import tempfile
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import BinaryIO


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


class SharedWork:
    """Pieces of work `0 .. count - 1` done by the parent and a forked child together.

    The parent asks for the pieces in order (`take`) and does those it
    claims itself; the child does pieces from the back with `child_part`
    and leaves its bytes in a temporary file, announcing each on a pipe (a
    pipe alone would block the child until the parent, busy with its own
    pieces, drained it). Where they meet the parent takes the child's
    bytes. Whatever goes wrong in the child, `take` returns None for the
    pieces it did not deliver and the parent does them itself, so what is
    built never depends on the child. A piece may be taken again (a writer
    that makes two passes): the child's bytes are read again, the parent's
    own pieces are its to redo.
    """

    def __init__(self, count: int, child_part: Callable[[int], bytes]) -> None:
        context = multiprocessing.get_context("fork")
        self._claims = TwoEndedClaims(context, count)
        self._mine: set[int] = set()
        self._theirs: dict[int, tuple[int, int]] = {}
        self._failed = False
        self._file: BinaryIO = tempfile.TemporaryFile()  # noqa: SIM115  # closed by close()
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_child_main, args=(child_part, self._claims, self._file, send), daemon=True
        )
        self._process.start()
        send.close()

    def take(self, index: int) -> bytes | None:
        """The child's bytes for piece `index`, or None when the parent must do it itself."""
        if index in self._mine or (index not in self._theirs and self._claims.front() == index):
            self._mine.add(index)
            return None
        while index not in self._theirs and not self._failed:
            try:
                message = self._receive.recv()
            except (EOFError, OSError):
                message = None
            if message is None:
                self._failed = True
            else:
                done, offset, length = message
                self._theirs[int(done)] = (int(offset), int(length))
        if index not in self._theirs:  # the child failed before this piece
            self._mine.add(index)
            return None
        offset, length = self._theirs[index]
        self._file.seek(offset)
        return self._file.read(length)

    def close(self) -> None:
        """Stop the child if it still runs and drop its file."""
        self._claims.stop()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._receive.close()
        self._file.close()


def _child_main(
    child_part: Callable[[int], bytes], claims: TwoEndedClaims, out: BinaryIO, conn: Connection
) -> None:
    try:
        while (index := claims.back()) is not None:
            data = child_part(index)
            offset = out.tell()
            out.write(data)
            out.flush()
            conn.send((index, offset, len(data)))
    except BaseException:  # the parent does what is missing itself
        conn.send(None)
    finally:
        conn.close()
