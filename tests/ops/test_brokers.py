"""Events published to NATS JetStream and RabbitMQ from the same outbox, with the same
JSON and event ids as the hook receiver gets, against the real brokers."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aio_pika
import nats
import pytest

from .conftest import MakeServer
from .helpers import upload
from .receiver import Receiver
from .services import AMQP_URL, NATS_URL, require

pytestmark = [pytest.mark.timeout(120), pytest.mark.services]


async def _nats_events(stream: str, subject: str, count: int) -> list[tuple[str, dict[str, Any]]]:
    client = await nats.connect(NATS_URL)
    try:
        js = client.jetstream()
        sub = await js.pull_subscribe(f"{subject}.>", durable=None, stream=stream)
        found: list[tuple[str, dict[str, Any]]] = []
        async with asyncio.timeout(20):
            while len(found) < count:
                try:
                    messages = await sub.fetch(count - len(found), timeout=1)
                except nats.errors.TimeoutError:
                    continue
                for m in messages:
                    found.append(
                        (m.headers["Nats-Msg-Id"] if m.headers else "", json.loads(m.data))
                    )
                    await m.ack()
        return found
    finally:
        try:
            await client.jetstream().delete_stream(stream)
        finally:
            await client.close()


async def _drop_exchange(connection: aio_pika.abc.AbstractRobustConnection, name: str) -> None:
    channel = await connection.channel()
    await channel.exchange_delete(name)


def test_nats_jetstream_and_rabbitmq(make_server: MakeServer, receiver: Receiver) -> None:
    require("NATS", "127.0.0.1", 4222)
    require("RabbitMQ", "127.0.0.1", 5672)
    tag = uuid.uuid4().hex[:10]
    stream, subject, exchange = f"TUSKIT_{tag}", f"tuskit-test-{tag}", f"tuskit-test-{tag}"

    async def bind_queue() -> tuple[
        aio_pika.abc.AbstractRobustConnection, aio_pika.abc.AbstractQueue
    ]:
        connection = await aio_pika.connect_robust(AMQP_URL)
        channel = await connection.channel()
        ex = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(f"q-{tag}", auto_delete=False)
        await queue.bind(ex, routing_key="#")
        return connection, queue

    async def amqp_events(
        queue: aio_pika.abc.AbstractQueue, count: int
    ) -> list[tuple[str, str, dict[str, Any]]]:
        found: list[tuple[str, str, dict[str, Any]]] = []
        async with asyncio.timeout(20):
            while len(found) < count:
                message = await queue.get(fail=False, timeout=2)
                if message is None:
                    await asyncio.sleep(0.1)
                    continue
                await message.ack()
                found.append(
                    (message.routing_key or "", message.message_id or "", json.loads(message.body))
                )
        return found

    loop = asyncio.new_event_loop()
    try:
        connection, queue = loop.run_until_complete(bind_queue())
        server = make_server(
            "--hooks-http", receiver.url, "--hooks-enabled-events", "post-create,post-finish",
            "--events-nats", NATS_URL, "--events-nats-stream", stream,
            "--events-nats-subject", subject,
            "--events-amqp", AMQP_URL, "--events-amqp-exchange", exchange,
        )  # fmt: skip
        url = upload(server.url, b"broker" * 10)
        upload_id = url.rsplit("/", 1)[-1]
        receiver.wait_for("post-finish")
        from_nats = loop.run_until_complete(_nats_events(stream, subject, 2))
        from_amqp = loop.run_until_complete(amqp_events(queue, 2))
        loop.run_until_complete(queue.delete(if_unused=False, if_empty=False))
        loop.run_until_complete(_drop_exchange(connection, exchange))
        loop.run_until_complete(connection.close())
    finally:
        loop.close()

    hooks = {h.body["EventID"]: h.body for h in receiver.hits}
    assert {b["Type"] for b in hooks.values()} == {"post-create", "post-finish"}
    nats_bodies = {msg_id: body for msg_id, body in from_nats}
    assert nats_bodies == hooks  # same ids, same JSON
    amqp_bodies = {msg_id: body for _, msg_id, body in from_amqp}
    assert amqp_bodies == hooks
    assert sorted(key for key, _, _ in from_amqp) == ["post-create", "post-finish"]
    assert all(b["Event"]["Upload"]["ID"] == upload_id for b in hooks.values())
