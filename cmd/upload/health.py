"""`/healthz` (the process answers) and `/readyz` (its stores answer), for load balancers
and orchestrators: both JSON, no authentication, no logging noise."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence

from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from .asgi import Mount
from .engine import Engine
from .settings import HEALTH_PATHS

log = logging.getLogger("tuskit.upload.health")

READY_TIMEOUT = 2.0


async def _json(send: Send, status: int, body: dict[str, object]) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def _routing_error(scope: Scope, send: Send, status: int, allow: Sequence[str]) -> None:
    await _json(send, status, {"code": "not_found" if status == 404 else "method_not_allowed"})


class _Asgi:
    """A raw ASGI endpoint (Starlette treats plain functions as request -> response)."""

    def __init__(self, handler: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self._handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._handler(scope, receive, send)


def mount(*, healthz: str = HEALTH_PATHS[0], readyz: str = HEALTH_PATHS[1]) -> Mount:
    def bind(engine: Engine) -> Sequence[BaseRoute]:
        async def alive(scope: Scope, receive: Receive, send: Send) -> None:
            await _json(send, 200, {"status": "ok"})

        async def ready(scope: Scope, receive: Receive, send: Send) -> None:
            if engine.inflight.draining:
                await _json(send, 503, {"status": "draining"})
                return
            try:
                await asyncio.wait_for(engine.stores.ping(), READY_TIMEOUT)
            except Exception as exc:
                log.warning("not ready: %s", exc)
                await _json(
                    send, 503, {"status": "unavailable", "reason": "a store does not answer"}
                )
                return
            await _json(send, 200, {"status": "ready"})

        return [
            Route(healthz, _Asgi(alive), methods=["GET", "HEAD"]),
            Route(readyz, _Asgi(ready), methods=["GET", "HEAD"]),
        ]

    return Mount(
        name="health", path=healthz, exact=(readyz,), bind=bind, routing_error=_routing_error
    )
