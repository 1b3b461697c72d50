"""Running appends, so a shutdown can ask each to stop and keep what arrived."""

from __future__ import annotations

from .interrupt import SHUTDOWN, Interrupt


class Inflight:
    """The set of interrupts of running bodies, plus a draining flag."""

    def __init__(self) -> None:
        self._running: set[Interrupt] = set()
        self.draining = False

    def add(self, interrupt: Interrupt) -> None:
        self._running.add(interrupt)
        if self.draining:
            interrupt.fire(SHUTDOWN)

    def discard(self, interrupt: Interrupt) -> None:
        self._running.discard(interrupt)

    def drain(self) -> int:
        """Stop accepting bodies and stop every running one; returns how many."""
        self.draining = True
        running = list(self._running)
        for interrupt in running:
            interrupt.fire(SHUTDOWN)
        return len(running)

    def __len__(self) -> int:
        return len(self._running)
