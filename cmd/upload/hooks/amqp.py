"""Events to RabbitMQ (AMQP 0-9-1): a durable topic exchange, routing key = event type.

Messages are persistent, carry the event id as `message_id` (consumers de-duplicate on
it) and count as delivered once the broker confirmed them (publisher confirms). Bind a
durable queue to the exchange (e.g. key `post-finish` or `#`): RabbitMQ drops messages
that no queue is bound to.
"""

from __future__ import annotations

import json

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractRobustConnection

from tuskit.persist.protocols import OutboxEntry

from ..observe.redact import redact_url


class AmqpSink:
    name = "amqp"

    def __init__(self, connection: AbstractRobustConnection, exchange: AbstractExchange) -> None:
        self.connection = connection
        self.exchange = exchange

    @classmethod
    async def connect(
        cls, url: str, *, exchange: str = "tuskit.events", timeout: float = 5
    ) -> AmqpSink:
        """Connect and declare the exchange; ConnectionError if RabbitMQ cannot be reached."""
        try:
            connection = await aio_pika.connect_robust(url, timeout=timeout)
        except Exception as exc:
            raise ConnectionError(f"cannot reach RabbitMQ at {redact_url(url)}: {exc!r}") from None
        try:
            channel = await connection.channel(publisher_confirms=True)
            declared = await channel.declare_exchange(
                exchange, aio_pika.ExchangeType.TOPIC, durable=True
            )
        except Exception as exc:
            await connection.close()
            raise ConnectionError(f"RabbitMQ at {redact_url(url)}: {exc!r}") from None
        return cls(connection, declared)

    async def deliver(self, entry: OutboxEntry) -> None:
        hook = str(json.loads(entry.payload)["Type"])
        message = aio_pika.Message(
            entry.payload.encode(),
            content_type="application/json",
            message_id=entry.id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await self.exchange.publish(message, routing_key=hook)

    async def close(self) -> None:
        await self.connection.close()
