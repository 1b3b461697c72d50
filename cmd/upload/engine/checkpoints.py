"""Checkpoints during a long append: record what arrived so far, then go on reading.

A protocol that reports progress as a promise (the resumable-upload draft's 104 with
`Upload-Offset`: "no retransmission of these bytes will be necessary") can only report
an offset that is durable and recorded. `Segments` ends the body's iteration every
`every` seconds (once bytes arrived since the last checkpoint) without ending the body:
the engine commits and records that segment under the same lock, tells the protocol,
and resumes reading into a new writer.

Once any other request asked the running append to let go (a status request, a
competing append, a termination), checkpoints stop: the offset that request was told
must stay the one a retry can resume from.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from tuskit.persist.model import UploadInfo

from .interrupt import Interrupt


@dataclass(frozen=True, slots=True)
class Progress:
    """Record what arrived every `every` seconds and call `recorded` with the new state."""

    every: float
    recorded: Callable[[UploadInfo], Awaitable[None]]


class Segments:
    """The body, cut into segments at checkpoints; `finished` once the body itself ended."""

    __slots__ = ("_every", "_interrupt", "_it", "_since", "deadline", "finished", "paused")

    def __init__(self, body: AsyncIterator[bytes], interrupt: Interrupt, every: float) -> None:
        self._it = body.__aiter__()
        self._interrupt = interrupt
        self._every = every
        self._since = 0
        self.deadline = time.monotonic() + every
        self.finished = False
        self.paused = False

    def __aiter__(self) -> Segments:
        return self

    async def __anext__(self) -> bytes:
        if (
            self._since
            and not self._interrupt.asked
            and not self._interrupt.fired
            and time.monotonic() >= self.deadline
        ):
            self.paused = True
            raise StopAsyncIteration
        try:
            chunk = await self._it.__anext__()
        except StopAsyncIteration:
            self.finished = True
            raise
        self._since += len(chunk)
        return chunk

    def resume(self) -> None:
        """Go on after a checkpoint was recorded."""
        self.paused = False
        self._since = 0
        self.deadline = time.monotonic() + self._every
