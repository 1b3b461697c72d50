"""The stream store as the outer app mounts it: generated routes, CORS, envelope errors."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from starlette.routing import BaseRoute

from tuskit.gen.http.cors import cors_middleware
from tuskit.gen.http.streams.server import make_routes, send_routing_error

from ..asgi import Mount
from ..engine import Engine, EventType, Listener, UploadEvent
from .service import StreamsOptions, StreamsService


def mount(*, path: str = "/v1", cors_origins: Sequence[str] = ("*",)) -> Mount:
    """The stream store and its queues under `path` (no trailing slash; '' for the root)."""
    options = StreamsOptions(base_path=path)

    def bind(engine: Engine) -> Sequence[BaseRoute]:
        service = StreamsService(engine, options)
        engine.events.subscribe(_unlist_when_terminated_elsewhere(service))
        return make_routes(service, base_path=path)

    return Mount(
        name="streams",
        path=path,
        bind=bind,
        routing_error=send_routing_error,
        cors=cors_middleware(list(cors_origins)),
    )


def _unlist_when_terminated_elsewhere(service: StreamsService) -> Listener:
    """A queued stream deleted through another protocol (tus DELETE on its id) leaves its
    queue too; listeners run on the loop and must not block, so it is a task."""
    pending: set[asyncio.Task[None]] = set()

    def listener(event: UploadEvent) -> None:
        if event.type is not EventType.TERMINATED:
            return
        if event.request is not None and event.request.protocol == "streams":
            return  # the stream store's own DELETE unlists before it answers
        if "queue" not in dict(event.upload.metadata):
            return
        task = asyncio.get_running_loop().create_task(service.fifo.unlist(event.upload.id))
        pending.add(task)
        task.add_done_callback(pending.discard)

    return listener
