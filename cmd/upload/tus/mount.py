"""The tus service as the outer app mounts it: generated routes, CORS, error format."""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.responses import Response
from starlette.routing import BaseRoute

from tuskit.gen.http.cors import cors_middleware
from tuskit.gen.http.tus.server import make_routes

from ..asgi import Mount
from ..engine import Engine
from .service import TUS_VERSION, TusOptions, TusService

_CODES = {404: "not_found", 405: "method_not_allowed"}


def routing_error(status: int, message: str) -> Response:
    """A 404 / 405 from routing, in the tus JSON shape with `Tus-Resumable`."""
    body = json.dumps({"code": _CODES.get(status, "http_error"), "message": message})
    return Response(
        body,
        status_code=status,
        headers={"Tus-Resumable": TUS_VERSION},
        media_type="application/json",
    )


def mount(
    *,
    path: str = "/files",
    behind_proxy: bool = False,
    cors_origins: Sequence[str] = ("*",),
) -> Mount:
    """tus under `path` (no trailing slash; '' for the root)."""
    options = TusOptions(base_path=path + "/", behind_proxy=behind_proxy)

    def bind(engine: Engine) -> Sequence[BaseRoute]:
        # The generated routes are raw ASGI endpoints: no FastAPI app around them.
        return make_routes(TusService(engine, options), base_path=path)

    return Mount(
        name="tus",
        path=path,
        bind=bind,
        routing_error=routing_error,
        cors=cors_middleware(list(cors_origins)),
    )
