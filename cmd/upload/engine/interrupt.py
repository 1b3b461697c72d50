"""Stop requests for one running append, and the watchdogs that decide when to honour them.

A running append is asked to let go for different reasons (`persist.protocols.Release`):
- STOP (termination, a lost lock, shutdown): stop now, keep what arrived.
- SUPERSEDE (a new append resumes from the recorded offset: the client's retry after a
  network loss): stop now. A stalled body keeps what arrived, like any interrupted one;
  a body still bringing bytes drops what was not recorded (the client sends it again).
- IF_STALLED (a status request, a competing append at another offset): honoured only
  once the body has brought no bytes for `stall_after` seconds, keeping what arrived; a
  healthy upload goes on.
Independently, a body that brings nothing for `idle_after` seconds is ended (slowloris),
keeping what arrived. Progress is one timestamp per chunk; each watchdog is one timer.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tuskit.persist.protocols import Release

SHUTDOWN = "shutdown"
IDLE = "idle"


class Interrupt:
    """Stop requests for one running append; may fire before the append starts."""

    __slots__ = (
        "_idle",
        "_idle_timer",
        "_stall",
        "_stall_timer",
        "_task",
        "fired",
        "last",
        "reason",
    )

    def __init__(self, *, stall_after: float | None = None, idle_after: float | None = None):
        self.fired = False
        self.reason: str = ""
        self.last = time.monotonic()
        """When the body last brought bytes (the pump updates it)."""
        self._stall = stall_after
        self._idle = idle_after
        self._task: asyncio.Task[Any] | None = None
        self._stall_timer: asyncio.TimerHandle | None = None
        self._idle_timer: asyncio.TimerHandle | None = None

    def request(self, kind: Release) -> None:
        """A lock's release request (the locker's callback)."""
        if kind is Release.IF_STALLED:
            self._watch_stall()
        elif kind is Release.SUPERSEDE and self.stalled:
            self.fire(Release.IF_STALLED.value)  # an interrupted body: keep what arrived
        else:
            self.fire(kind.value)

    @property
    def stalled(self) -> bool:
        return self._stall is not None and time.monotonic() - self.last >= self._stall

    def fire(self, reason: str = Release.STOP.value) -> None:
        if self.fired:
            return
        self.fired = True
        self.reason = reason
        self._cancel_timers()
        if self._task is not None and not self._task.done():
            self._task.cancel()

    @property
    def superseded(self) -> bool:
        return self.reason == Release.SUPERSEDE.value

    def attach(self, task: asyncio.Task[Any]) -> None:
        """The task running the body: cancelled on fire; watched for idleness."""
        self._task = task
        self.last = time.monotonic()
        if self.fired:
            task.cancel()
            return
        if self._idle:
            self._idle_timer = asyncio.get_running_loop().call_later(self._idle, self._check_idle)
        task.add_done_callback(lambda _t: self._cancel_timers())

    def _watch_stall(self) -> None:
        if self.fired or self._stall_timer is not None:
            return
        if self._stall is None:
            self.fire(Release.IF_STALLED.value)  # no stall rule: behave as before
            return
        self._check_stall()

    def _check_stall(self) -> None:
        self._stall_timer = None
        if self.fired or self._stall is None:
            return
        quiet = time.monotonic() - self.last
        if quiet >= self._stall:
            self.fire(Release.IF_STALLED.value)
            return
        self._stall_timer = asyncio.get_running_loop().call_later(
            self._stall - quiet, self._check_stall
        )

    def _check_idle(self) -> None:
        self._idle_timer = None
        if self.fired or self._idle is None:
            return
        quiet = time.monotonic() - self.last
        if quiet >= self._idle:
            self.fire(IDLE)
            return
        self._idle_timer = asyncio.get_running_loop().call_later(
            self._idle - quiet, self._check_idle
        )

    def _cancel_timers(self) -> None:
        for timer in (self._stall_timer, self._idle_timer):
            if timer is not None:
                timer.cancel()
        self._stall_timer = self._idle_timer = None
