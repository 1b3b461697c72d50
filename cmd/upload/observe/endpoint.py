"""`GET /metrics` as a mount of its own (no CORS, no hooks, not counted itself)."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from ..asgi import Mount
from ..engine import Engine
from .metrics import CONTENT_TYPE, Metrics

NAME = "metrics"


class _Serve:
    """A raw ASGI endpoint (Starlette treats a plain function as request -> response)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self.metrics.exposition()
        await Response(body, media_type=CONTENT_TYPE)(scope, receive, send)


def mount(metrics: Metrics, path: str) -> Mount:
    def bind(engine: Engine) -> Sequence[BaseRoute]:
        return [Route(path, _Serve(metrics), methods=["GET"])]

    def routing_error(status: int, message: str) -> Response:
        return PlainTextResponse(message, status_code=status)

    return Mount(NAME, path, bind, routing_error)
