"""`GET /metrics` as a mount of its own (no CORS, no hooks, not counted itself)."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message, Receive, Scope, Send

from ..asgi import Mount
from ..engine import Engine
from .metrics import CONTENT_TYPE, Metrics

NAME = "metrics"


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


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

    async def routing_error(scope: Scope, send: Send, status: int, allowed: Sequence[str]) -> None:
        headers = {"Allow": ", ".join(allowed)} if allowed else None
        text = "nothing at this URL" if status == 404 else "method not allowed"
        await PlainTextResponse(text, status_code=status, headers=headers)(scope, _no_body, send)

    return Mount(NAME, path, bind, routing_error)
