"""Where outbox entries go: a hook transport, or a message broker.

A sink delivers one entry or raises; the relay retries. Every answer that is not a
success is retried (at least once means a receiver that is down, or answers 500 or 404
while it is being deployed, gets the event later).
"""

from __future__ import annotations

import json
from typing import Protocol

from tuskit.persist.protocols import OutboxEntry

from .transport import HookTransport


class Sink(Protocol):
    name: str

    async def deliver(self, entry: OutboxEntry) -> None: ...

    async def close(self) -> None: ...


class HookSink:
    """Post-* events to a hook transport (one attempt per delivery)."""

    def __init__(self, transport: HookTransport) -> None:
        self.transport = transport
        self.name = transport.name

    async def deliver(self, entry: OutboxEntry) -> None:
        body = json.loads(entry.payload)
        await self.transport.call(str(body["Type"]), body, None, retry=False)

    async def close(self) -> None:
        return None  # the transport also serves blocking hooks; its owner closes it
