"""Waking long-polls in one process when a key (a queue name) changes.

Stores feed it from wherever they learn of a change: their own writes (at once), Redis
pub/sub or PostgreSQL NOTIFY (other instances), or a poll of the state they share
(SQLite). `wait_for` registers before it checks, so a change between the check and the
wait is never missed; the poll interval is the safety net for a lost notification.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class Wakeups:
    """Futures waiting per key; `notify(key)` resolves all of them."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Future[None]]] = {}

    def notify(self, key: str) -> None:
        for future in self._waiting.pop(key, ()):
            if not future.done():
                future.set_result(None)

    def notify_all(self) -> None:
        for key in list(self._waiting):
            self.notify(key)

    def __len__(self) -> int:
        return sum(len(w) for w in self._waiting.values())

    async def wait_for(
        self,
        key: str,
        ready: Callable[[], Awaitable[bool]],
        timeout: float,
        poll: float,
    ) -> bool:
        """Until `ready()` is true (True) or `timeout` seconds passed (False); `ready` is
        asked again after each notification of `key` and at least every `poll` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        while True:
            future: asyncio.Future[None] = loop.create_future()
            self._waiting.setdefault(key, set()).add(future)
            try:
                if await ready():
                    return True
                left = deadline - loop.time()
                if left <= 0:
                    return False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(future, min(left, poll))
            finally:
                waiting = self._waiting.get(key)
                if waiting is not None:
                    waiting.discard(future)
                    if not waiting:
                        del self._waiting[key]
