"""FIFO queues of finished uploads in process memory: for tests and throwaway servers.

The durable stores (`sqlite_queues`, `redis_queues`, `postgres_queues`) keep the same
semantics across instances; this one is the reference they are tested against.
"""

from __future__ import annotations

import dataclasses

from .protocols import QueueEntry
from .wakeups import Wakeups

LOCAL_POLL = 1.0
"""Seconds between checks while waiting when every change is notified in process."""


class MemoryQueueIndex:
    """QueueIndex in a dict; sequences never reused, removed positions kept."""

    def __init__(self) -> None:
        self._entries: dict[str, QueueEntry] = {}
        self._last: dict[str, int] = {}
        self._wakeups = Wakeups()

    async def append(
        self, queue: str, upload_id: str, size: int, content_type: str, created: float
    ) -> QueueEntry:
        old = self._entries.get(upload_id)
        if old is not None and old.removed is None:
            raise ValueError(f"upload {upload_id} is already in queue {old.queue}")
        seq = self._last.get(queue, 0) + 1
        self._last[queue] = seq
        entry = QueueEntry(queue, seq, upload_id, size, content_type, created)
        self._entries[upload_id] = entry
        self._wakeups.notify(queue)
        return entry

    async def remove(self, upload_id: str, now: float) -> QueueEntry | None:
        entry = self._entries.get(upload_id)
        if entry is None or entry.removed is not None:
            return None
        self._entries[upload_id] = dataclasses.replace(entry, removed=now)
        return entry

    async def locate(self, upload_id: str) -> QueueEntry | None:
        return self._entries.get(upload_id)

    def _live(self, queue: str) -> list[QueueEntry]:
        found = [e for e in self._entries.values() if e.queue == queue and e.removed is None]
        return sorted(found, key=lambda e: e.seq)

    async def after(self, queue: str, seq: int, limit: int) -> list[QueueEntry]:
        return [e for e in self._live(queue) if e.seq > seq][:limit]

    async def before(self, queue: str, seq: int, limit: int) -> list[QueueEntry]:
        return [e for e in reversed(self._live(queue)) if e.seq < seq][:limit]

    async def counts(self) -> list[tuple[str, int]]:
        found: dict[str, int] = {}
        for e in self._entries.values():
            if e.removed is None:
                found[e.queue] = found.get(e.queue, 0) + 1
        return sorted(found.items())

    async def last_seq(self, queue: str) -> int:
        return self._last.get(queue, 0)

    async def wait(self, queue: str, seen: int, timeout: float) -> bool:
        async def ready() -> bool:
            return self._last.get(queue, 0) > seen

        return await self._wakeups.wait_for(queue, ready, timeout, LOCAL_POLL)

    async def forget_removed(self, older_than: float) -> int:
        old = [
            k for k, e in self._entries.items() if e.removed is not None and e.removed < older_than
        ]
        for k in old:
            del self._entries[k]
        return len(old)

    async def close(self) -> None:
        self._wakeups.notify_all()
