"""The tus service as the outer app mounts it: generated routes, CORS, error format."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from tuskit.gen.http.cors import cors_middleware
from tuskit.gen.http.tus.server import make_routes, send_routing_error

from ..asgi import Mount
from ..engine import Engine
from .service import TusOptions, TusService


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
        routing_error=send_routing_error,
        cors=cors_middleware(list(cors_origins)),
    )
