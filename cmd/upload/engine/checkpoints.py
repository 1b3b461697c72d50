"""Checkpoints during a long append: record the durable prefix, then go on reading.

Two reasons to record before a body ends, one mechanism:
- crash safety: every `every_bytes` (64 MiB) the writer makes what it wrote durable
  (`persist.protocols.Checkpointing`) and the engine records that offset, so kill -9 in
  a long body loses at most one window;
- progress promises: a protocol that reports progress as a promise (the
  resumable-upload draft's 104 with `Upload-Offset`: "no retransmission of these bytes
  will be necessary") asks for a checkpoint every `every_seconds` and is told each
  recorded state (`Progress.recorded`), so it only ever reports durable offsets.
The writer stays open (no reopening, O_DIRECT goes on); a checkpoint is taken before
waiting for more of the body (a pausing client still has what it sent recorded), not for
a body of exactly N windows (its commit records it), and never for a body with a
promised digest (all or nothing). A status request does not stop them: a client resuming
from an offset a HEAD reported earlier is told the current one (409) and goes on.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tuskit.persist.model import UploadInfo


@dataclass(frozen=True, slots=True)
class Progress:
    """A protocol's wish: record what arrived every `every` seconds, and hear of it."""

    every: float
    recorded: Callable[[UploadInfo], Awaitable[None]]


class Checkpoints:
    """When to record during one body (bytes or time), and how (`record`)."""

    __slots__ = ("_deadline", "_since", "every_bytes", "every_seconds", "record")

    def __init__(
        self,
        record: Callable[[], Awaitable[None]],
        every_bytes: int,
        every_seconds: float | None = None,
    ) -> None:
        self.record = record
        self.every_bytes = every_bytes
        self.every_seconds = every_seconds
        self._since = 0
        self._deadline = time.monotonic() + every_seconds if every_seconds else 0.0

    def due(self) -> bool:
        """A chunk arrived: is a checkpoint of what came before it due? (cheap: one
        comparison, plus a clock read only when a time interval is set)."""
        if not self._since:
            return False
        if self.every_bytes and self._since > self.every_bytes:
            return True  # more than a window: a body of exactly N windows syncs once
        return bool(self.every_seconds) and time.monotonic() >= self._deadline

    def wrote(self, n: int) -> None:
        self._since += n

    def taken(self) -> None:
        self._since = 0
        if self.every_seconds:
            self._deadline = time.monotonic() + self.every_seconds
