"""Running appends, so a shutdown can ask each to stop and a status request can see
whether this process's append on an upload is healthy."""

from __future__ import annotations

from .interrupt import SHUTDOWN, Interrupt


class Inflight:
    """The interrupts of running bodies (by upload id when published), plus a draining flag."""

    def __init__(self) -> None:
        self._running: dict[Interrupt, str | None] = {}
        self._by_id: dict[str, Interrupt] = {}
        self.draining = False

    def add(self, interrupt: Interrupt, upload_id: str | None = None) -> None:
        self._running[interrupt] = upload_id
        if upload_id is not None:
            self._by_id[upload_id] = interrupt
        if self.draining:
            interrupt.fire(SHUTDOWN)

    def discard(self, interrupt: Interrupt) -> None:
        upload_id = self._running.pop(interrupt, None)
        if upload_id is not None and self._by_id.get(upload_id) is interrupt:
            del self._by_id[upload_id]

    def running(self, upload_id: str) -> Interrupt | None:
        """This process's running append on `upload_id`, if any."""
        return self._by_id.get(upload_id)

    def drain(self) -> int:
        """Stop accepting bodies and stop every running one; returns how many."""
        self.draining = True
        running = list(self._running)
        for interrupt in running:
            interrupt.fire(SHUTDOWN)
        return len(running)

    def __len__(self) -> int:
        return len(self._running)
