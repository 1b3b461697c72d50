"""Events to NATS JetStream: subject `<prefix>.<event type>`, the outbox's JSON as is.

The event id goes in `Nats-Msg-Id`, so JetStream's own duplicate window drops a
redelivery of an event it already stored; an event counts as delivered once JetStream
acknowledged it (stored in the stream). The stream is created if it does not exist.
"""

from __future__ import annotations

import asyncio
import json

import nats
from nats.aio.client import Client
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from tuskit.persist.protocols import OutboxEntry

from ..observe.redact import redact_url


class NatsSink:
    name = "nats"

    def __init__(self, client: Client, js: JetStreamContext, subject: str) -> None:
        self.client = client
        self.js = js
        self.subject = subject

    @classmethod
    async def connect(
        cls, url: str, *, subject: str = "tuskit.events", stream: str = "TUSKIT", timeout: float = 5
    ) -> NatsSink:
        """Connect and make sure the stream exists; ConnectionError if NATS cannot be
        reached (the message names the server without credentials)."""
        try:
            # Reconnects forever once connected; the first connection is bounded here
            # (nats-py would otherwise retry it forever too).
            async with asyncio.timeout(timeout):
                client = await nats.connect(
                    url, connect_timeout=timeout, max_reconnect_attempts=-1, allow_reconnect=True
                )
        except TimeoutError:
            raise ConnectionError(f"cannot reach NATS at {redact_url(url)}: timed out") from None
        except Exception as exc:
            raise ConnectionError(f"cannot reach NATS at {redact_url(url)}: {exc!r}") from None
        try:
            js = client.jetstream(timeout=timeout)
            try:
                await js.stream_info(stream)
            except NotFoundError:
                await js.add_stream(name=stream, subjects=[f"{subject}.>"])
        except Exception as exc:
            await client.close()
            raise ConnectionError(f"NATS JetStream at {redact_url(url)}: {exc!r}") from None
        return cls(client, js, subject)

    async def deliver(self, entry: OutboxEntry) -> None:
        hook = str(json.loads(entry.payload)["Type"])
        await self.js.publish(
            f"{self.subject}.{hook}", entry.payload.encode(), headers={"Nats-Msg-Id": entry.id}
        )

    async def close(self) -> None:
        await self.client.close()
